pub mod autoserv;
pub mod conmux;
pub mod console;
pub mod mirror;
pub mod queue;
pub mod run;
pub mod status;
