//! (being written)
use crate::{Dataset, Result, DataError};
/// Opens a dataset by catalog name or path.
pub fn open(spec: &str) -> Result<Dataset> {
    Err(DataError::NotFound { name: spec.into(), hint: "reader not written yet".into() })
}
