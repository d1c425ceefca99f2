//! Trace readers, one module per format. Streaming, with line-numbered errors; gzip supported;
//! reading is bounded by `crate::input`.

pub mod callgraph;
pub mod lora;
pub mod openb;
pub mod swf;
pub mod table;
pub mod v2017;
