// The seed article's practical advice, priced: fine-tuning a 7B for "$10-100", distillation
// cutting inference cost "10-50x", "most AI labs achieve 30-40% MFU", and "a 16B parameter version
// created through knowledge distillation". Each claim carries what the simulator computes, what
// the published sources say (docs/facts.md §9) and a verdict. Part of the main report's claims check.
#pragma once

#include <vector>

#include "frugal/sim/claims.hpp"

namespace frugal::sim {

// What the article claims, and the figures behind each verdict.
struct ArticleClaimFigures {
  double lora_7b_cost_usd = 0;        // LoRA of an 8B on 5,000 examples x 512 tokens x 3 epochs, one A100
  double full_7b_cost_usd = 0;        // full fine-tuning of it on the same data, 8 A100s
  double alpaca_cost_usd = 0;         // Alpaca's data (52K x 512 x 3) fully fine-tuned on 8 A100s
  double alpaca_hours = 0;            // ... and its wall time
  double serving_ratio_low_load = 0;  // DeepSeek-V3 over Llama 3.1 8B, $/1K requests at 1 request/s
  double serving_ratio_high_load = 0; // ... at 100 requests/s
  double v3_mfu = 0;                  // the simulator's DeepSeek-V3 pre-training MFU (BF16 peak)
  double v2_lite_gpu_hours = 0;       // DeepSeek-V2-Lite pre-trained on 5.7T tokens, H800
  double distill_8b_gpu_hours = 0;    // R1-style SFT of an 8B on 800K samples of 1,000 tokens, 2 epochs
};

ArticleClaimFigures article_claim_figures(double v3_pretraining_mfu);
std::vector<Claim> article_claims(const ArticleClaimFigures& f);

}  // namespace frugal::sim
