// Reading a Hugging Face config.json, unchanged, into a ModelConfig. Each family is read with the
// semantics of its transformers modeling file (named in hf_model.cpp beside its reader):
//   dense:  llama, mistral (sliding window), qwen2, qwen3 (QK-norm), phi3 (sliding window),
//           gemma2 / gemma3 / gemma3_text (alternating sliding-window and global layers, tied
//           embeddings, four norms per layer)
//   MoE:    mixtral, qwen2_moe (shared expert and its gate), qwen3_moe, olmoe, gpt_oss (alternating
//           sliding-window layers, attention sinks, biased experts and router), llama4 (interleaved
//           MoE layers, shared expert, chunked attention), deepseek, deepseek_v2, deepseek_v3 and
//           its variants (kimi_k2), glm4_moe
// Keys that change no cost are accepted and listed in ModelConfig::ignored_keys; any other key is
// refused with its path, because a key nobody understood may change the cost.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/model_config.hpp"

namespace frugal {

// Whether `j` is a Hugging Face config: it has "num_hidden_layers", or a multimodal checkpoint's
// "text_config" that has.
bool is_hf_config(const nlohmann::json& j);

// The language model of a Hugging Face config at `path` ("" for a bare file). Throws ConfigError
// naming the key as written ("text_config.num_hidden_layers: ...").
ModelConfig parse_hf_model(const nlohmann::json& j, const std::string& path);

}  // namespace frugal
