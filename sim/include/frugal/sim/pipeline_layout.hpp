// Which pipeline rank holds what: transformer layers, the embedding, the output head with its loss,
// and the MTP modules. A pipeline runs at the pace of its busiest rank, so a rank that holds the
// output head (a vocabulary of 128K-200K columns is worth one to five transformer layers) on top of
// its share of layers sets the step time.
//
// Megatron-Core's three ways to place them, each named in a config as parallelism.pipeline_layout:
//   "even"           its default: the transformer layers split evenly over the pp x v model chunks,
//                    the embedding on the first chunk, the output layer, loss and MTP on the last;
//   "ends-as-layers" --account-for-embedding-in-pipeline-split and
//                    --account-for-loss-in-pipeline-split: the embedding and the loss each count as
//                    one layer of the split, so the first and last chunks hold one layer fewer (as
//                    Llama 3 did: "we reduce one Transformer layer each from the first and the last
//                    stages", arXiv 2407.21783 §3.3.2);
//   a layout string  pipeline_model_parallel_layout: one group of letters per model chunk, chunks
//                    separated by '|', E the embedding, t a transformer layer, m an MTP module, L the
//                    loss and output layer; "X*n" repeats a letter or a parenthesised group n times
//                    (e.g. "Et|(tt|)*30mL"). Chunk c runs on rank c mod pp (Megatron's interleaving).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace frugal::sim {

// What one rank holds, summed over its model chunks. Layers may be fractional: the even split of a
// depth the chunks do not divide is priced as the average, not refused.
struct RankLoad {
  double layers = 0;
  double mtp_modules = 0;
  double embeddings = 0;
  double heads = 0;  // output layer and loss
};

// The load of every rank (pp entries) for `layout` ("even", "ends-as-layers" or a layout string).
// Throws ConfigError(field, ...) when a layout string does not parse, has other than pp x v chunks,
// or places a number of t or m other than the model's layers and MTP modules, or when
// "ends-as-layers" leaves a first or last chunk with fewer than zero layers.
std::vector<RankLoad> pipeline_rank_loads(const std::string& layout, std::int64_t num_layers, std::int64_t mtp_modules,
                                          std::int64_t pp, std::int64_t virtual_stages, const std::string& field);

// Whether `layout` is acceptable as a value (a keyword or a string that parses), before the model
// and degrees are known; the reason when not.
bool pipeline_layout_parses(const std::string& layout, std::string* reason);

}  // namespace frugal::sim
