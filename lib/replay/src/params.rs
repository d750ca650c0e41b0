//! Query-string and form parameters as the three APIs read them: repeated keys
//! (`match[]`) allowed, the last value of a key winning for single-valued ones.

/// Decoded `key=value` pairs of a query string or an urlencoded form.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a query string (without `?`) or a form body; both may be empty.
    pub fn parse(query: Option<&str>, form: &[u8]) -> Self {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        pairs.extend(url::form_urlencoded::parse(form).into_owned());
        Self(pairs)
    }

    /// The last non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}
