#include "frugal/sim/article_claims.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "frugal/config/presets.hpp"
#include "frugal/sim/finetune.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/serving_planner.hpp"

namespace frugal::sim {

namespace {

FinetuneEstimate finetune_on_a100s(const char* preset, FinetuneMethod method, double examples, std::int64_t gpus) {
  FinetuneJob j;
  j.model = preset_model(preset);
  j.gpu = find_gpu("A100", "--gpu");
  j.gpus = gpus;
  j.adapters.method = method;
  j.examples = examples;
  j.tokens_per_example = 512;
  j.epochs = 3;
  j.global_batch = gpus == 1 ? 16 : 128;
  return estimate_finetune(j);
}

double serving_cost_per_1k(const char* preset, double rate) {
  const ServingWorkload w{rate, {1000, LengthDistribution::exponential}, {300, LengthDistribution::exponential}, 0.0, 2000, 1, {}};
  return plan_serving(preset_model(preset), priced_alike({find_gpu("H100", "--gpu")}, 2.0), w, {2.0, 0.05})
      .best.front()
      .cost_per_1k_requests_usd;
}

}  // namespace

ArticleClaimFigures article_claim_figures(double v3_pretraining_mfu) {
  ArticleClaimFigures f;
  f.lora_7b_cost_usd = finetune_on_a100s("llama-3.1-8b", FinetuneMethod::lora, 5000, 1).cost_usd;
  f.full_7b_cost_usd = finetune_on_a100s("llama-3.1-8b", FinetuneMethod::full, 5000, 8).cost_usd;
  const FinetuneEstimate alpaca = finetune_on_a100s("llama-3.1-8b", FinetuneMethod::full, 52000, 8);
  f.alpaca_cost_usd = alpaca.cost_usd;
  f.alpaca_hours = alpaca.hours;
  f.serving_ratio_low_load = serving_cost_per_1k("deepseek-v3", 1.0) / serving_cost_per_1k("llama-3.1-8b", 1.0);
  f.serving_ratio_high_load = serving_cost_per_1k("deepseek-v3", 100.0) / serving_cost_per_1k("llama-3.1-8b", 100.0);
  f.v3_mfu = v3_pretraining_mfu;

  TrainingRun lite;
  lite.model = preset_model("deepseek-v2-lite");
  lite.gpu = find_gpu("H800", "--gpu");
  lite.gpus = 512;
  lite.parallel.automatic = true;
  TrainingStage stage;
  stage.name = "pre-training";
  stage.tokens = 5.7e12;  // "scratch training with 5.7T tokens" (DeepSeek-V2-Lite model card)
  stage.seq_len = 4096;
  stage.global_batch = 4608;  // DeepSeek-V2 §3.2.1 trains V2-Lite with 4,608 sequences of 4K
  lite.stages = {stage};
  f.v2_lite_gpu_hours = simulate_training(lite).gpu_hours;

  FinetuneJob sft;  // DeepSeek-R1 §2.4: "fine-tuned ... using the 800k samples curated with DeepSeek-R1"
  sft.model = preset_model("llama-3.1-8b");
  sft.gpu = find_gpu("H800", "--gpu");
  sft.gpus = 8;
  sft.adapters.method = FinetuneMethod::full;
  sft.examples = 800000;
  sft.tokens_per_example = 1000;  // not published: assumed
  sft.epochs = 2;                 // R1 fine-tunes V3-Base "for two epochs" on the same data (§2.3.3)
  sft.global_batch = 128;
  f.distill_8b_gpu_hours = estimate_finetune(sft).gpu_hours;
  return f;
}

std::vector<Claim> article_claims(const ArticleClaimFigures& f) {
  std::vector<Claim> out;
  const double cheapest = std::min(f.lora_7b_cost_usd, f.full_7b_cost_usd);
  const double dearest = std::max(f.lora_7b_cost_usd, f.full_7b_cost_usd);
  std::string verdict = dearest < 10.0 ? fmt::format("generous for the GPU rental: ${:.2f}-{:.2f} at 5,000 examples; $10-100 buys "
                                                     "the experiments around one run", cheapest, dearest)
                        : cheapest > 100.0 ? "too low: one run already costs more than $100"
                                           : "about right for one run";
  out.push_back({"$10-100 to fine-tune a 7B (Mistral-7B on 500-5,000 examples)",
                 fmt::format("an 8B on 5,000 examples x 512 tokens x 3 epochs at $2/GPU-hour: LoRA on one A100 ${:.2f}, full "
                             "fine-tuning on 8 A100s ${:.2f}; Alpaca's 52K examples fully fine-tuned the same way: ${:.2f} "
                             "({:.2f} hours)",
                             f.lora_7b_cost_usd, f.full_7b_cost_usd, f.alpaca_cost_usd, f.alpaca_hours),
                 "Alpaca: 'Fine-tuning a 7B LLaMA model took 3 hours on 8 80GB A100s, which costs less than $100' "
                 "(Stanford CRFM, 2023); the simulator's miss on that run is in validate --corpus (finetune class)",
                 verdict});
  const bool falls = f.serving_ratio_high_load < f.serving_ratio_low_load;
  const auto in_range = [](double r) { return r >= 10.0 && r <= 50.0; };
  out.push_back({"distillation cuts inference cost 10-50x",
                 fmt::format("serving DeepSeek-V3 against Llama 3.1 8B (R1-Distill-Llama-8B's base) on H100s, p95 TTFT 2 s "
                             "and TPOT 50 ms: {:.1f}x the cost per request at 1 request/s, {:.1f}x at 100",
                             f.serving_ratio_low_load, f.serving_ratio_high_load),
                 "no primary source states a cost ratio: the DeepSeek-R1 README and paper compare the distilled "
                 "models' scores, not their serving cost",
                 fmt::format("{} at 1 request/s, {} at 100: the ratio is the size gap between teacher and student and it {} "
                             "with load ({}); distillation is how the small model gets good, not what makes it cheap",
                             in_range(f.serving_ratio_low_load) ? "within 10-50x" : "outside 10-50x",
                             in_range(f.serving_ratio_high_load) ? "within" : "outside",
                             falls ? "falls" : "grows",
                             falls ? "a lightly loaded teacher pays for its whole minimum deployment; a busy one only for "
                                     "the parameters each token uses"
                                   : "the teacher's deployment saturates first")});
  out.push_back({"most AI labs achieve 30-40% MFU",
                 fmt::format("{:.1f}% for DeepSeek-V3's pre-training (BF16 peak)", 100 * f.v3_mfu),
                 "Llama 3 405B 38-43% (Llama 3 paper Table 4); PaLM 46.2%, Megatron-Turing NLG 30.2%, GPT-3 21.3% (PaLM "
                 "paper Table 3); MegaScale 55.2% on 12,288 GPUs (MegaScale abstract); DeepSeek-V3 38.94% causal "
                 "(ISCA25 Table 4)",
                 "about right for published large runs (21-55%, most 30-46%); no source states it as a general "
                 "figure, nor that 'small optimizations' below 40% cut costs 20-30%"});
  out.push_back({"a highly efficient 16B version created through knowledge distillation",
                 fmt::format("DeepSeek-V2-Lite's 5.7T-token pre-training: {} H800-hours; an R1-style distillation (SFT of an "
                             "8B on 800K samples of an assumed 1,000 tokens, 2 epochs): {} H800-hours",
                             format_count(f.v2_lite_gpu_hours), format_count(f.distill_8b_gpu_hours)),
                 "DeepSeekMoE 16B: 'trained from scratch on 2T English and Chinese tokens' (DeepSeek-MoE README); "
                 "DeepSeek-V2-Lite: 'scratch training with 5.7T tokens' (model card); the distilled models are dense "
                 "1.5B-70B Qwen2.5 and Llama checkpoints fine-tuned on 'the 800k samples curated with DeepSeek-R1' "
                 "(DeepSeek-R1 README and paper §2.4)",
                 "wrong: DeepSeek's 16B models were pre-trained, not distilled; the distilled ones are 1.5B-70B"});
  return out;
}

}  // namespace frugal::sim
