//! What the server says about the model's context size. Each probe is a short GET (or
//! Ollama's POST `/api/show`) that a server without it answers 404; the first number
//! found wins.

use std::time::Duration;

use serde_json::{Value, json};

use super::Provider;

/// How long one probe may take: a server that is slow to say this is slow to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Ollama serves 4,096 tokens unless the model's `num_ctx` parameter (or the server's
/// `OLLAMA_CONTEXT_LENGTH`, which the API does not show) says otherwise.
const OLLAMA_DEFAULT_CTX: u64 = 4_096;

/// The context size in tokens and where it was read, or `None`.
pub(crate) async fn discover(
    http: &reqwest::Client,
    provider: &Provider,
    api_key: Option<&str>,
) -> Option<(u64, &'static str)> {
    let base = provider.base_url.as_str().trim_end_matches('/').to_string();
    let root = base.strip_suffix("/v1").unwrap_or(&base).to_string();
    let get = |url: String| {
        let mut r = http.get(url).timeout(PROBE_TIMEOUT);
        if let Some(k) = api_key {
            r = r.bearer_auth(k);
        }
        fetch(r)
    };
    // llama.cpp: the context of one slot, which is what one request gets.
    if let Some(v) = get(format!("{root}/props")).await
        && let Some(n) = llama_props(&v)
    {
        return Some((n, "llama.cpp /props"));
    }
    if let Some(v) = get(format!("{base}/models")).await
        && let Some(n) = models_list(&v, &provider.model)
    {
        return Some((n, "/v1/models"));
    }
    let mut show = http
        .post(format!("{root}/api/show"))
        .timeout(PROBE_TIMEOUT)
        .json(&json!({"model": provider.model}));
    if let Some(k) = api_key {
        show = show.bearer_auth(k);
    }
    if let Some(v) = fetch(show).await
        && let Some(n) = ollama_show(&v)
    {
        return Some((n, "Ollama /api/show"));
    }
    None
}

async fn fetch(request: reqwest::RequestBuilder) -> Option<Value> {
    let res = request.send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.json().await.ok()
}

fn positive(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| *n > 0)
}

/// `default_generation_settings.n_ctx` (per slot), else a top-level `n_ctx`.
fn llama_props(v: &Value) -> Option<u64> {
    positive(&v["default_generation_settings"]["n_ctx"]).or_else(|| positive(&v["n_ctx"]))
}

/// The entry for `model` (else the only one): vLLM's `max_model_len`, llama.cpp's
/// `meta.n_ctx`.
fn models_list(v: &Value, model: &str) -> Option<u64> {
    let data = v["data"].as_array()?;
    let entry = data
        .iter()
        .find(|m| m["id"].as_str() == Some(model))
        .or(if data.len() == 1 { data.first() } else { None })?;
    positive(&entry["max_model_len"]).or_else(|| positive(&entry["meta"]["n_ctx"]))
}

/// `num_ctx` from the model's parameters, else the default capped by the model's
/// trained `*.context_length`.
fn ollama_show(v: &Value) -> Option<u64> {
    let from_params = v["parameters"].as_str().and_then(|p| {
        p.lines().find_map(|line| {
            let mut it = line.split_whitespace();
            (it.next() == Some("num_ctx")).then(|| it.next()?.parse::<u64>().ok())?
        })
    });
    if let Some(n) = from_params.filter(|n| *n > 0) {
        return Some(n);
    }
    let trained = v["model_info"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.ends_with(".context_length"))
        .and_then(|(_, n)| positive(n))?;
    Some(trained.min(OLLAMA_DEFAULT_CTX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_cpp_props_give_the_slot_context() {
        let v = json!({"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1});
        assert_eq!(llama_props(&v), Some(4096));
        assert_eq!(llama_props(&json!({"error": "x"})), None);
    }

    #[test]
    fn models_list_reads_vllm_and_llama_cpp() {
        let vllm = json!({"data": [{"id": "a", "max_model_len": 8192}, {"id": "qwen", "max_model_len": 32768}]});
        assert_eq!(models_list(&vllm, "qwen"), Some(32768));
        assert_eq!(models_list(&vllm, "other"), None);
        let llama =
            json!({"data": [{"id": "/m.gguf", "meta": {"n_ctx": 4096, "n_ctx_train": 8192}}]});
        assert_eq!(models_list(&llama, "smollm2"), Some(4096));
    }

    #[test]
    fn ollama_show_prefers_num_ctx() {
        let v = json!({"parameters": "stop \"<|im_end|>\"\nnum_ctx 16384", "model_info": {"qwen2.context_length": 32768}});
        assert_eq!(ollama_show(&v), Some(16384));
        let v = json!({"parameters": "", "model_info": {"qwen2.context_length": 32768}});
        assert_eq!(ollama_show(&v), Some(4096));
        let v = json!({"model_info": {"llama.context_length": 2048}});
        assert_eq!(ollama_show(&v), Some(2048));
    }
}
