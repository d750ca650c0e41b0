use std::time::Duration;

use aegis_core::config::{Env, Error, Secret};

/// The models Aegis may call.
#[derive(Debug, Clone)]
pub struct Config {
    /// Providers by alias (`qwen`, `glm`, `deepseek`, `doubao`, `custom`).
    pub providers: Vec<Provider>,
    /// The alias used when a question names none; `None`: the statistical engine only.
    pub default_model: Option<String>,
    /// Timeout of one model call.
    pub timeout: Duration,
    /// `max_tokens` of each call (`None`: not sent).
    pub max_tokens: Option<u32>,
}

/// One OpenAI-compatible endpoint and model, under an alias.
#[derive(Debug, Clone)]
pub struct Provider {
    /// What users type: `qwen`, `glm`, `deepseek`, `doubao`, ...
    pub alias: String,
    /// Base URL ending before `/chat/completions` (e.g. `http://ollama:11434/v1`).
    pub base_url: url::Url,
    /// Model name sent in requests.
    pub model: String,
    /// API key, if the endpoint needs one.
    pub api_key: Option<Secret>,
    /// Whether the model gets native tool calling; otherwise the text protocol.
    pub native_tools: bool,
    /// Whether it emits reasoning (`reasoning_content` or `<think>`), to be stripped.
    pub reasoning: bool,
    /// The model's context in tokens when the server does not say it (llama.cpp, vLLM
    /// and Ollama do; `Client::context_window` asks them first).
    pub context_tokens: Option<u64>,
}

impl Config {
    /// Every provider's API key, to keep out of prompts, reports and logs.
    pub fn secrets(&self) -> Vec<Secret> {
        self.providers
            .iter()
            .filter_map(|p| p.api_key.clone())
            .collect()
    }
}

impl Config {
    /// Reads the original service's model variables and `AEGIS_LLM_*`.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let ollama = env
            .url("OLLAMA_BASE_URL")?
            .unwrap_or_else(|| url::Url::parse("http://localhost:11434").expect("constant URL"));
        let ollama_v1 = v1(&ollama);
        let ollama_ctx = context_tokens(env, "OLLAMA_CONTEXT_TOKENS")?;
        let mut providers = vec![
            Provider {
                alias: "qwen".into(),
                base_url: ollama_v1.clone(),
                model: env.string_or("OLLAMA_QWEN_MODEL", "qwen2.5:32b"),
                api_key: None,
                native_tools: true,
                reasoning: false,
                context_tokens: ollama_ctx,
            },
            Provider {
                alias: "glm".into(),
                base_url: ollama_v1.clone(),
                model: env.string_or("OLLAMA_GLM_MODEL", "glm-4.7-flash"),
                api_key: None,
                native_tools: true,
                reasoning: true,
                context_tokens: ollama_ctx,
            },
            Provider {
                alias: "deepseek".into(),
                base_url: ollama_v1,
                model: env.string_or("OLLAMA_DEEPSEEK_MODEL", "deepseek-r1:32b"),
                api_key: None,
                // deepseek-r1 has no reliable native tool calling: it gets the text protocol.
                native_tools: false,
                reasoning: true,
                context_tokens: ollama_ctx,
            },
            Provider {
                alias: "doubao".into(),
                base_url: env.url("DOUBAO_BASE_URL")?.unwrap_or_else(|| {
                    url::Url::parse("https://ark.cn-beijing.volces.com/api/v3")
                        .expect("constant URL")
                }),
                model: env.string_or("DOUBAO_MODEL", "doubao-seed-1-6-250615"),
                api_key: env
                    .secret("DOUBAO_API_KEY")
                    .or_else(|| env.secret("ARK_API_KEY")),
                native_tools: true,
                reasoning: true,
                context_tokens: context_tokens(env, "DOUBAO_CONTEXT_TOKENS")?,
            },
        ];
        let custom = env.url("AEGIS_LLM_BASE_URL")?;
        let native = env.bool("AEGIS_LLM_NATIVE_TOOLS")?.unwrap_or(true);
        let custom_model = env.string("AEGIS_LLM_MODEL");
        let custom_key = env.secret("AEGIS_LLM_API_KEY");
        if let Some(base_url) = &custom {
            let model = custom_model.ok_or_else(|| {
                Error::new("AEGIS_LLM_MODEL", "required when AEGIS_LLM_BASE_URL is set")
            })?;
            providers.push(Provider {
                alias: "custom".into(),
                base_url: base_url.clone(),
                model,
                api_key: custom_key,
                native_tools: native,
                reasoning: true,
                context_tokens: context_tokens(env, "AEGIS_LLM_CONTEXT_TOKENS")?,
            });
        }
        let default_model = match env.string("DEFAULT_MODEL") {
            Some(alias) => {
                let alias = alias.to_ascii_lowercase();
                if !providers.iter().any(|p| p.alias == alias) {
                    let known: Vec<_> = providers.iter().map(|p| p.alias.as_str()).collect();
                    return Err(Error::new(
                        "DEFAULT_MODEL",
                        format!("expected one of {}, got {alias:?}", known.join(", ")),
                    ));
                }
                Some(alias)
            }
            None => custom.map(|_| "custom".to_string()),
        };
        Ok(Self {
            providers,
            default_model,
            timeout: env
                .duration("AEGIS_LLM_TIMEOUT")?
                .unwrap_or(Duration::from_secs(120)),
            max_tokens: match env.parse::<u32>("AEGIS_LLM_MAX_TOKENS", "a positive integer")? {
                Some(0) => {
                    return Err(Error::new(
                        "AEGIS_LLM_MAX_TOKENS",
                        "expected a positive integer, got 0",
                    ));
                }
                other => other,
            },
        })
    }

    /// Every alias, for error messages.
    pub fn aliases(&self) -> Vec<&str> {
        self.providers.iter().map(|p| p.alias.as_str()).collect()
    }

    /// A client of the provider behind `alias`, bounded by the configured timeout.
    pub fn client(&self, alias: &str) -> Option<super::Client> {
        self.provider(alias)
            .map(|p| super::Client::new(p.clone(), self.timeout))
    }

    /// The provider behind `alias` (case-insensitive).
    pub fn provider(&self, alias: &str) -> Option<&Provider> {
        self.providers
            .iter()
            .find(|p| p.alias.eq_ignore_ascii_case(alias))
    }
}

/// A context size setting: a positive number of tokens.
fn context_tokens(env: &Env, name: &str) -> Result<Option<u64>, Error> {
    match env.parse::<u64>(name, "a positive number of tokens")? {
        Some(0) => Err(Error::new(
            name,
            "expected a positive number of tokens, got 0",
        )),
        other => Ok(other),
    }
}

/// Ollama serves the OpenAI-compatible API under `/v1`.
fn v1(base: &url::Url) -> url::Url {
    let mut url = base.clone();
    if !url.path().trim_end_matches('/').ends_with("/v1") {
        let path = format!("{}/v1", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    url
}
