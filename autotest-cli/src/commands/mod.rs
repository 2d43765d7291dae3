pub mod autoserv;
pub mod mirror;
pub mod queue;
pub mod run;
pub mod status;
