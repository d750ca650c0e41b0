//! manifests flow
