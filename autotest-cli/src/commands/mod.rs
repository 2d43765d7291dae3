pub mod autoserv;
pub mod queue;
pub mod run;
pub mod status;
