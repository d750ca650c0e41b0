use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Env, Error};

/// Where reports and markers are kept.
#[derive(Debug, Clone)]
pub struct Config {
    /// The folder store's root (used when `s3` is `None`).
    pub data_dir: PathBuf,
    /// The S3 store, when a bucket is configured.
    pub s3: Option<S3Config>,
    /// How result cards link to reports.
    pub links: ReportLinks,
    /// Lifetime of presigned links.
    pub link_expiry: Duration,
    /// The folder store prunes entries older than this.
    pub retention: Duration,
}

/// An S3 (or S3-compatible) bucket.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix, ending in `/` or empty.
    pub prefix: String,
    /// Path-style addressing (MinIO and friends).
    pub force_path_style: bool,
    /// Endpoint override for S3-compatible servers.
    pub endpoint: Option<url::Url>,
    /// Region.
    pub region: String,
}

/// How a result card links to its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportLinks {
    /// A presigned S3 URL.
    Presigned,
    /// `<base>/api/ops/analyses/<id>`.
    PublicBase(url::Url),
    /// No link.
    None,
}

impl Config {
    /// Reads `AEGIS_DATA_DIR`, `AEGIS_S3_*` and the link and retention settings.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let data_dir = match env.string("AEGIS_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => default_data_dir(),
        };
        let s3 = match env.string("AEGIS_S3_BUCKET") {
            None => None,
            Some(bucket) => {
                let mut prefix = env.string_or("AEGIS_S3_PREFIX", "aegis/");
                if !prefix.is_empty() && !prefix.ends_with('/') {
                    prefix.push('/');
                }
                Some(S3Config {
                    bucket,
                    prefix,
                    force_path_style: env.bool("AEGIS_S3_FORCE_PATH_STYLE")?.unwrap_or(false),
                    endpoint: env.url("AWS_ENDPOINT_URL_S3")?,
                    region: env.string_or("AWS_REGION", "us-east-1"),
                })
            }
        };
        let public = env.url("AEGIS_PUBLIC_BASE_URL")?;
        let links = match env.string("AEGIS_REPORT_LINKS").as_deref() {
            Some("presigned") if s3.is_some() => ReportLinks::Presigned,
            Some("presigned") => {
                return Err(Error::new(
                    "AEGIS_REPORT_LINKS",
                    "presigned links need AEGIS_S3_BUCKET",
                ));
            }
            Some(other) => {
                return Err(Error::new(
                    "AEGIS_REPORT_LINKS",
                    format!("expected presigned or empty, got {other:?}"),
                ));
            }
            None => public
                .map(ReportLinks::PublicBase)
                .unwrap_or(ReportLinks::None),
        };
        Ok(Self {
            data_dir,
            s3,
            links,
            link_expiry: env
                .duration("AEGIS_REPORT_LINK_EXPIRY")?
                .unwrap_or(Duration::from_secs(7 * 86_400)),
            retention: env
                .duration("AEGIS_RETENTION")?
                .unwrap_or(Duration::from_secs(30 * 86_400)),
        })
    }
}

fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("aegis");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/aegis"),
        None => PathBuf::from(".aegis-data"),
    }
}
