use std::path::PathBuf;
use std::time::Duration;

use aegis_core::config::{Env, Error};

/// SigV4 presigned URLs are valid for at most a week; also the default expiry.
pub(crate) const MAX_PRESIGNED_EXPIRY: Duration = Duration::from_secs(7 * 86_400);

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
        let link_expiry = env
            .duration("AEGIS_REPORT_LINK_EXPIRY")?
            .unwrap_or(MAX_PRESIGNED_EXPIRY);
        if links == ReportLinks::Presigned && link_expiry > MAX_PRESIGNED_EXPIRY {
            return Err(Error::new(
                "AEGIS_REPORT_LINK_EXPIRY",
                "presigned links last at most 7d (the SigV4 limit)",
            ));
        }
        Ok(Self {
            data_dir,
            s3,
            links,
            link_expiry,
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| vars.get(name).cloned();
        Config::from_env(&Env::new(&lookup))
    }

    #[test]
    fn folder_by_default_s3_with_a_bucket() {
        let c = config(&[("AEGIS_DATA_DIR", "/data")]).expect("valid");
        assert!(c.s3.is_none());
        assert_eq!(c.data_dir, PathBuf::from("/data"));
        assert_eq!(c.links, ReportLinks::None);
        let c = config(&[("AEGIS_S3_BUCKET", "b"), ("AEGIS_S3_PREFIX", "p")]).expect("valid");
        assert_eq!(c.s3.expect("s3").prefix, "p/");
    }

    #[test]
    fn links_are_validated() {
        let err = config(&[("AEGIS_REPORT_LINKS", "presigned")]).expect_err("needs a bucket");
        assert_eq!(err.name, "AEGIS_REPORT_LINKS");
        let err = config(&[
            ("AEGIS_S3_BUCKET", "b"),
            ("AEGIS_REPORT_LINKS", "presigned"),
            ("AEGIS_REPORT_LINK_EXPIRY", "8d"),
        ])
        .expect_err("too long");
        assert_eq!(err.name, "AEGIS_REPORT_LINK_EXPIRY");
        let c = config(&[("AEGIS_PUBLIC_BASE_URL", "https://aegis.example.com")]).expect("valid");
        assert!(matches!(c.links, ReportLinks::PublicBase(_)));
    }
}
