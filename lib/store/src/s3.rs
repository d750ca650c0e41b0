//! The S3 backend: any S3-compatible server through `aws-sdk-s3`.
//!
//! An object is the key `<prefix><key>` in the bucket, with the content type it was put
//! with. A conditional create is `PutObject` with `If-None-Match: *`, so S3 lets exactly
//! one of two concurrent creates through; a listing is `ListObjectsV2`, which returns
//! keys in ascending order. Requests time out fast (3 s to connect, 15 s per operation):
//! a store that is down costs an analysis seconds, not minutes.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

pub use aws_sdk_s3::config::Credentials;

use super::{Error, ObjectStore, ReportLinks, S3Config, Store};

/// Most keys `ListObjectsV2` returns per request.
const MAX_KEYS: usize = 1000;

/// The report store in an S3 bucket.
pub type S3 = Store<S3Objects>;

impl S3 {
    /// A store using the standard AWS credential chain (environment, profile, web
    /// identity, ECS/IMDS). Nothing is contacted until the first request, so a bucket
    /// that is down at start-up degrades analyses instead of stopping the function.
    pub async fn connect(
        config: &S3Config,
        links: ReportLinks,
        link_expiry: Duration,
    ) -> Result<Self, Error> {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .load()
            .await;
        Self::build(
            aws_sdk_s3::config::Builder::from(&sdk),
            config,
            links,
            link_expiry,
        )
    }

    /// A store with fixed credentials (tests, S3-compatible servers without IAM).
    pub fn with_credentials(
        config: &S3Config,
        links: ReportLinks,
        link_expiry: Duration,
        credentials: Credentials,
    ) -> Result<Self, Error> {
        let builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials);
        Self::build(builder, config, links, link_expiry)
    }

    fn build(
        builder: aws_sdk_s3::config::Builder,
        config: &S3Config,
        links: ReportLinks,
        link_expiry: Duration,
    ) -> Result<Self, Error> {
        if links == ReportLinks::Presigned && link_expiry > super::config::MAX_PRESIGNED_EXPIRY {
            return Err(Error::Unavailable(
                "AEGIS_REPORT_LINK_EXPIRY: presigned links last at most 7d".into(),
            ));
        }
        Ok(Store::new(
            S3Objects::build(builder, config, link_expiry),
            links,
        ))
    }

    /// Whether the bucket is reachable with these credentials (`HeadBucket`).
    pub async fn check(&self) -> Result<(), Error> {
        self.objects().check().await
    }
}

/// Objects under a prefix of an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: Client,
    bucket: String,
    prefix: String,
    link_expiry: Duration,
}

impl S3Objects {
    /// Objects in `config`'s bucket and prefix, through a client made from `builder`
    /// (region and credentials set); presigned links last `link_expiry`.
    fn build(
        builder: aws_sdk_s3::config::Builder,
        config: &S3Config,
        link_expiry: Duration,
    ) -> Self {
        let mut builder = builder
            .force_path_style(config.force_path_style)
            // S3-compatible servers differ in checksum support; send and check them
            // only where an operation requires one.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // A store that is down must fail fast: the analysis answers anyway.
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(15))
                    .build(),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            link_expiry,
        }
    }

    /// Whether the bucket is reachable with these credentials (`HeadBucket`).
    pub async fn check(&self) -> Result<(), Error> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("HeadBucket", &self.bucket, &e))
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Objects {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let key = self.key(key);
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(unavailable("GetObject", &key, &e)),
        };
        let bytes = out.body.collect().await.map_err(|e| {
            Error::Unavailable(format!("GetObject {key}: reading the body failed: {e}"))
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), Error> {
        let key = self.key(key);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("PutObject", &key, &e))
    }

    async fn put_if_absent(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<bool, Error> {
        let key = self.key(key);
        match self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // 412 Precondition Failed: the object exists. 409 ConditionalRequestConflict:
            // a concurrent conditional write to the same key is in flight and will win.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(false),
            Err(e) => Err(unavailable("PutObject (If-None-Match)", &key, &e)),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        let full = self.key(prefix);
        let mut start_after = after.map(|after| self.key(after));
        let mut keys = Vec::new();
        while keys.len() < limit {
            let want = (limit - keys.len()).min(MAX_KEYS);
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full)
                .max_keys(i32::try_from(want).unwrap_or(1000))
                .set_start_after(start_after.take())
                .send()
                .await
                .map_err(|e| unavailable("ListObjectsV2", &full, &e))?;
            let before = keys.len();
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key()?.strip_prefix(&self.prefix))
                    .map(str::to_string)
                    .take(want),
            );
            if page.is_truncated() != Some(true) || keys.len() == before {
                break;
            }
            start_after = keys.last().map(|last| self.key(last));
        }
        Ok(keys)
    }

    /// S3 answers success for an object that does not exist.
    async fn delete(&self, key: &str) -> Result<(), Error> {
        let key = self.key(key);
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("DeleteObject", &key, &e))
    }

    async fn presign(&self, key: &str, content_type: &str) -> Result<Option<String>, Error> {
        let key = self.key(key);
        let presigning = PresigningConfig::expires_in(self.link_expiry)
            .map_err(|e| Error::Unavailable(format!("presigning {key}: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .response_content_type(content_type)
            .presigned(presigning)
            .await
            .map_err(|e| unavailable("presigning GetObject", &key, &e))?;
        Ok(Some(request.uri().to_string()))
    }
}

/// The HTTP status of a failed request, when the server answered at all.
fn status<E, R>(err: &SdkError<E, R>) -> Option<u16>
where
    R: HttpStatus,
{
    err.raw_response().map(HttpStatus::status_code)
}

/// Access to the status of the SDK's raw response type.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn unavailable<E, R>(op: &str, key: &str, err: &SdkError<E, R>) -> Error
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Error::Unavailable(format!("{op} {key}: {}", DisplayErrorContext(err)))
}
