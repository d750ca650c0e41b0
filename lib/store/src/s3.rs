//! The S3 store: any S3-compatible server through `aws-sdk-s3`.
//!
//! Keys under the configured prefix: `reports/<id>.json` (`application/json`),
//! `reports/<id>.md` (`text/markdown`), `index/<reverse time>-<id>` (the listing line; a
//! reverse timestamp so ListObjectsV2, which returns keys in ascending order, lists newest
//! first), `cards/<alert event id>`, `markers/<key>` (created with `If-None-Match: *`,
//! so S3 lets exactly one of two concurrent claims through) and
//! `dead-letters/<reverse time>-<event id>.json`. Names go through
//! [`key::object_name`].

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

pub use aws_sdk_s3::config::Credentials;

use super::{
    Claim, DeadLetter, Error, ReportLinks, ReportStore, ReportSummary, S3Config, key, markdown,
};
use aegis_core::report::Report;

const JSON: &str = "application/json; charset=utf-8";
const MARKDOWN: &str = "text/markdown; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Index entries fetched at once while listing.
const LIST_FETCHES: usize = 16;

/// Reports, cards and markers in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3 {
    client: Client,
    bucket: String,
    prefix: String,
    links: ReportLinks,
    link_expiry: Duration,
}

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
        Ok(Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            links,
            link_expiry,
        })
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

    fn key(&self, dir: &str, name: &str) -> String {
        format!("{}{dir}/{name}", self.prefix)
    }

    async fn put(&self, key: String, body: Vec<u8>, content_type: &str) -> Result<(), Error> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("PutObject", &key, &e))
    }

    /// Deletes the object (S3 answers success for one that does not exist).
    async fn delete(&self, key: String) -> Result<(), Error> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("DeleteObject", &key, &e))
    }

    /// The object's bytes, or `None` when it does not exist.
    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
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

    async fn get_text(&self, key: String) -> Result<Option<String>, Error> {
        match self.get(key.clone()).await? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt {
                    key,
                    reason: e.to_string(),
                }),
        }
    }

    /// The listing line stored under index key `key`, `None` if it vanished (pruned by
    /// the lifecycle rule since it was listed).
    async fn summary(&self, key: String) -> Result<Option<ReportSummary>, Error> {
        let Some(bytes) = self.get(key.clone()).await? else {
            return Ok(None);
        };
        match serde_json::from_slice(&bytes) {
            Ok(summary) => Ok(Some(summary)),
            Err(e) => {
                tracing::warn!(%key, reason = %e, "skipping an unreadable index entry");
                Ok(None)
            }
        }
    }
}

#[async_trait::async_trait]
impl ReportStore for S3 {
    async fn put_report(&self, report: &Report) -> Result<(), Error> {
        let now = Utc::now();
        let name = key::object_name(&report.id);
        let corrupt = |e: serde_json::Error| Error::Corrupt {
            key: report.id.clone(),
            reason: e.to_string(),
        };
        let json = serde_json::to_vec_pretty(report).map_err(corrupt)?;
        let line = serde_json::to_vec(&ReportSummary::of(report, now)).map_err(corrupt)?;
        let md = markdown::render(report).into_bytes();
        futures::try_join!(
            self.put(self.key("reports", &format!("{name}.json")), json, JSON),
            self.put(self.key("reports", &format!("{name}.md")), md, MARKDOWN),
        )?;
        // The index line last, so a listing never names a report that is not there.
        self.put(
            self.key("index", &key::index_name(now, &report.id)),
            line,
            JSON,
        )
        .await
    }

    async fn get_report(&self, id: &str) -> Result<Option<Report>, Error> {
        let key = self.key("reports", &format!("{}.json", key::object_name(id)));
        let Some(bytes) = self.get(key.clone()).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                key,
                reason: e.to_string(),
            })
    }

    async fn get_report_markdown(&self, id: &str) -> Result<Option<String>, Error> {
        self.get_text(self.key("reports", &format!("{}.md", key::object_name(id))))
            .await
    }

    async fn list_reports(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ReportSummary>, Error> {
        let index = self.key("index", "");
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut token = None;
        while out.len() < limit {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&index)
                .max_keys(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| unavailable("ListObjectsV2", &index, &e))?;
            let mut reached_since = false;
            let mut keys = Vec::new();
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some(at) = key::index_time(&key[index.len()..]) else {
                    continue;
                };
                if since.is_some_and(|s| at < s) {
                    reached_since = true;
                    break;
                }
                keys.push(key.to_string());
            }
            for chunk in keys.chunks(LIST_FETCHES) {
                let summaries: Vec<_> = futures::stream::iter(chunk.iter().cloned())
                    .map(|key| self.summary(key))
                    .buffered(LIST_FETCHES)
                    .try_collect()
                    .await?;
                // A report stored twice (a redelivery) is listed once, at its newest time.
                for summary in summaries.into_iter().flatten() {
                    if out.len() < limit && seen.insert(summary.id.clone()) {
                        out.push(summary);
                    }
                }
                if out.len() >= limit {
                    break;
                }
            }
            token = page.next_continuation_token().map(str::to_string);
            if reached_since || token.is_none() || page.is_truncated() != Some(true) {
                break;
            }
        }
        Ok(out)
    }

    async fn put_card(&self, alert_event_id: &str, message_id: &str) -> Result<(), Error> {
        let key = self.key("cards", &key::object_name(alert_event_id));
        self.put(key, message_id.as_bytes().to_vec(), TEXT).await
    }

    async fn get_card(&self, alert_event_id: &str) -> Result<Option<String>, Error> {
        let key = self.key("cards", &key::object_name(alert_event_id));
        Ok(self.get_text(key).await?.map(|s| s.trim().to_string()))
    }

    async fn claim(&self, marker: &str) -> Result<Claim, Error> {
        let key = self.key("markers", &key::object_name(marker));
        let body = format!("{}\n", Utc::now().to_rfc3339()).into_bytes();
        match self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(TEXT)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await
        {
            Ok(_) => Ok(Claim::Won),
            // 412 Precondition Failed: the marker exists. 409 ConditionalRequestConflict:
            // a concurrent conditional write to the same key is in flight and will win.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(Claim::AlreadyTaken),
            Err(e) => Err(unavailable("PutObject (If-None-Match)", &key, &e)),
        }
    }

    async fn release(&self, marker: &str) -> Result<(), Error> {
        self.delete(self.key("markers", &key::object_name(marker)))
            .await
    }

    async fn report_link(&self, id: &str) -> Result<Option<String>, Error> {
        if self.links != ReportLinks::Presigned {
            return Ok(super::public_link(&self.links, id));
        }
        let key = self.key("reports", &format!("{}.json", key::object_name(id)));
        let presigning = PresigningConfig::expires_in(self.link_expiry)
            .map_err(|e| Error::Unavailable(format!("presigning {key}: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .response_content_type(JSON)
            .presigned(presigning)
            .await
            .map_err(|e| unavailable("presigning GetObject", &key, &e))?;
        Ok(Some(request.uri().to_string()))
    }

    async fn put_dead_letter(
        &self,
        at: DateTime<Utc>,
        id: &str,
        event: &[u8],
    ) -> Result<(), Error> {
        let key = self.key("dead-letters", &DeadLetter::object_name(at, id));
        self.put(key, event.to_vec(), JSON).await
    }

    async fn remove_dead_letter(&self, at: DateTime<Utc>, id: &str) -> Result<(), Error> {
        self.delete(self.key("dead-letters", &DeadLetter::object_name(at, id)))
            .await
    }

    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        let prefix = self.key("dead-letters", "");
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .max_keys(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
            .send()
            .await
            .map_err(|e| unavailable("ListObjectsV2", &prefix, &e))?;
        let keys: Vec<String> = page
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .take(limit)
            .collect();
        let fetched: Vec<_> = futures::stream::iter(keys)
            .map(|key| async move { (self.get(key.clone()).await, key) })
            .buffered(LIST_FETCHES)
            .collect()
            .await;
        let mut out = Vec::new();
        for (bytes, key) in fetched {
            let name = &key[prefix.len()..];
            match bytes?.and_then(|b| DeadLetter::parse(name, &b)) {
                Some(Ok(letter)) => out.push(letter),
                Some(Err(reason)) => {
                    tracing::warn!(%key, %reason, "skipping an unreadable dead letter");
                }
                None => {}
            }
        }
        Ok(out)
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
