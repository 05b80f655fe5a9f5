// Bad model configs are refused with one message naming the field as the user wrote it.
#include <gtest/gtest.h>

#include <string>

#include "frugal/config/config_file.hpp"
#include "model_config_error.hpp"

namespace frugal {
namespace {

// A valid FrugalLM model section that each test breaks in one place.
nlohmann::json valid_native() {
  return nlohmann::json::parse(R"({
    "model": {
      "name": "t", "vocab_size": 1000, "hidden_size": 64, "num_layers": 4,
      "attention": {"kind": "gqa", "num_heads": 8, "num_kv_heads": 2},
      "ffn": {"intermediate_size": 128},
      "moe": {"routed_experts": 8, "shared_experts": 1, "top_k": 2, "expert_intermediate_size": 32,
              "first_dense_layers": 1, "groups": 4, "groups_per_token": 2}
    }
  })");
}

nlohmann::json valid_hf() {
  return nlohmann::json::parse(R"({
    "model_type": "deepseek_v3", "vocab_size": 1000, "hidden_size": 64, "num_hidden_layers": 4,
    "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": 32, "kv_lora_rank": 16,
    "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16, "intermediate_size": 128,
    "n_routed_experts": 16, "n_shared_experts": 1, "num_experts_per_tok": 4, "moe_intermediate_size": 32,
    "first_k_dense_replace": 1, "n_group": 4, "topk_group": 2, "scoring_func": "sigmoid",
    "routed_scaling_factor": 2.5, "norm_topk_prob": true, "num_nextn_predict_layers": 1,
    "rope_scaling": {"type": "yarn", "factor": 40}, "torch_dtype": "bfloat16"
  })");
}

std::string error_of(const nlohmann::json& doc) { return frugal::testing::model_config_error(doc); }

TEST(ConfigErrors, ValidConfigsAreAccepted) {
  EXPECT_EQ(error_of(valid_native()), "(accepted)");
  EXPECT_EQ(error_of(valid_hf()), "(accepted)");
}

TEST(ConfigErrors, MissingField) {
  auto doc = valid_native();
  doc["model"].erase("hidden_size");
  EXPECT_EQ(error_of(doc), "model.hidden_size: missing (required)");
  auto hf = valid_hf();
  hf.erase("kv_lora_rank");
  EXPECT_EQ(error_of(hf), "kv_lora_rank: missing (required)");
}

TEST(ConfigErrors, UnknownKey) {
  auto doc = valid_native();
  doc["model"]["attention"]["num_head"] = 8;
  EXPECT_EQ(error_of(doc), "model.attention.num_head: unknown key");
  auto hf = valid_hf();
  hf["num_experts_per_token"] = 4;
  EXPECT_EQ(error_of(hf), "num_experts_per_token: unknown key");
  auto sections = valid_native();
  sections["modle"] = nlohmann::json::object();
  EXPECT_EQ(error_of(sections), "modle: unknown key");
}

TEST(ConfigErrors, NegativeOrZeroSize) {
  auto doc = valid_native();
  doc["model"]["hidden_size"] = -64;
  EXPECT_EQ(error_of(doc), "model.hidden_size: must be a positive integer, got -64");
  doc = valid_native();
  doc["model"]["num_layers"] = 0;
  EXPECT_EQ(error_of(doc), "model.num_layers: must be a positive integer, got 0");
  doc = valid_native();
  doc["model"]["moe"]["shared_experts"] = -1;
  EXPECT_EQ(error_of(doc), "model.moe.shared_experts: must not be negative, got -1");
  auto hf = valid_hf();
  hf["moe_intermediate_size"] = 0;
  EXPECT_EQ(error_of(hf), "moe_intermediate_size: must be a positive integer, got 0");
}

// A depth no model has is refused by name, not walked layer by layer for minutes (a fuzzed
// num_hidden_layers of 2^31 hung frugal-sim train).
TEST(ConfigErrors, ImplausibleDepthIsRefused) {
  nlohmann::json doc = valid_native();
  doc["model"]["num_layers"] = 1001;
  EXPECT_EQ(error_of(doc), "model.num_layers: must be between 1 and 1000; the deepest published model has 126 layers (Llama 3.1 405B), got 1001");
  doc["model"]["num_layers"] = 1000;
  EXPECT_EQ(error_of(doc), "(accepted)");
  doc["model"]["mtp_depth"] = 65;
  EXPECT_EQ(error_of(doc), "model.mtp_depth: must be between 0 and 64; DeepSeek-V3 has 1 MTP module, got 65");
}

TEST(ConfigErrors, WrongType) {
  auto doc = valid_native();
  doc["model"]["vocab_size"] = "1000";
  EXPECT_EQ(error_of(doc), "model.vocab_size: must be an integer, got \"1000\"");
  doc = valid_native();
  doc["model"]["hidden_size"] = 64.5;
  EXPECT_EQ(error_of(doc), "model.hidden_size: must be an integer, got 64.5");
  doc = valid_native();
  doc["model"]["attention"]["kind"] = "flash";
  EXPECT_EQ(error_of(doc), "model.attention.kind: unknown value \"flash\" (known: mha, gqa, mla)");
}

TEST(ConfigErrors, TopKAboveExpertCount) {
  auto doc = valid_native();
  doc["model"]["moe"]["top_k"] = 9;
  EXPECT_EQ(error_of(doc), "model.moe.top_k: 9 exceeds the number of routed experts (8)");
  auto hf = valid_hf();
  hf["num_experts_per_tok"] = 300;
  EXPECT_EQ(error_of(hf), "num_experts_per_tok: 300 exceeds the number of routed experts (16)");
}

TEST(ConfigErrors, TopKAboveTheExpertsOfTheKeptGroups) {
  auto hf = valid_hf();
  hf["num_experts_per_tok"] = 9;  // 2 kept groups of 4 experts hold only 8
  EXPECT_EQ(error_of(hf), "num_experts_per_tok: 9 exceeds the 8 experts in the groups a token may use");
}

TEST(ConfigErrors, HeadsNotDivisibleByKvHeads) {
  auto doc = valid_native();
  doc["model"]["attention"]["num_kv_heads"] = 3;
  EXPECT_EQ(error_of(doc), "model.attention.num_kv_heads: 3 does not divide the number of attention heads (8)");
  nlohmann::json llama = {{"model_type", "llama"},       {"vocab_size", 100},       {"hidden_size", 64},
                          {"num_hidden_layers", 2},       {"num_attention_heads", 8}, {"num_key_value_heads", 3},
                          {"intermediate_size", 128}};
  EXPECT_EQ(error_of(llama), "num_key_value_heads: 3 does not divide the number of attention heads (8)");
}

TEST(ConfigErrors, GroupsMustDivideExperts) {
  auto doc = valid_native();
  doc["model"]["moe"]["groups"] = 3;
  EXPECT_EQ(error_of(doc), "model.moe.groups: 3 groups do not divide the 8 routed experts");
  doc = valid_native();
  doc["model"]["moe"]["groups_per_token"] = 5;
  EXPECT_EQ(error_of(doc), "model.moe.groups_per_token: 5 exceeds the number of groups (4)");
}

TEST(ConfigErrors, UnsupportedHfFamily) {
  auto hf = valid_hf();
  hf["model_type"] = "gpt2";
  EXPECT_EQ(error_of(hf).rfind("model_type: unsupported \"gpt2\"", 0), 0u) << error_of(hf);
}

TEST(ConfigErrors, MalformedJsonNamesTheLine) {
  const std::string file = ::testing::TempDir() + "/malformed.json";
  {
    std::ofstream out(file);
    out << "{\n  \"model\": {\n    \"hidden_size\": 64,\n    \"num_layers\" 4\n  }\n}\n";
  }
  try {
    (void)load_model_config_file(file);
    FAIL() << "accepted malformed JSON";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(file + ":4:18: malformed JSON: ", 0), 0u) << what;
  }
}

TEST(ConfigErrors, MissingFileIsNamed) {
  try {
    (void)load_model_config_file("/nonexistent/config.json");
    FAIL() << "accepted a missing file";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/config.json: cannot open file");
  }
}

}  // namespace
}  // namespace frugal
