pub mod autoserv;
pub mod conmux;
pub mod console;
pub mod queue;
pub mod run;
pub mod status;
