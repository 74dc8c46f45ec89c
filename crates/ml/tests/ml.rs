//! Integration tests of dlscope-ml, by topic: real Fashion-MNIST, and the whole-dataset
//! pipelines (cluster, reduce) on small generated datasets.

#[path = "ml/embeddings.rs"]
mod embeddings;
#[path = "ml/fashion.rs"]
mod fashion;
#[path = "ml/fixture.rs"]
mod fixture;
#[path = "ml/pipeline.rs"]
mod pipeline;
