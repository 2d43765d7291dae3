pub mod autoserv;
pub mod run;
pub mod status;
