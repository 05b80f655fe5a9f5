// Chapter 2 · MoE routing: the gate, group-limited top-k, the selection bias, dispatch and
// combine, and the load that the bias then corrects — on 6 tokens, printed step by step.
#include <fmt/format.h>

#include <sstream>

#include "../common/narrator.hpp"
#include "frugal/kernels/moe_layout.hpp"
#include "routing_demo.hpp"

using namespace frugal;
using namespace frugal::chapters;

namespace {

std::string row_of(const float* v, int n, const char* format = "{:7.3f}") {
  std::string out;
  for (int i = 0; i < n; ++i) out += fmt::format(fmt::runtime(format), v[i]);
  return out;
}

std::string routing_table(const core::Router<float>& router, core::Index tokens, int k) {
  std::string out = "  token   chosen experts   gate weights g\n";
  for (core::Index t = 0; t < tokens; ++t) {
    std::string experts, weights;
    for (int j = 0; j < k; ++j) {
      experts += fmt::format("{:3d}", router.chosen()[static_cast<std::size_t>(t * k + j)]);
      weights += fmt::format("{:7.3f}", router.weights()(t, j));
    }
    out += fmt::format("  {:5d}   {:<16} {}\n", t, experts, weights);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 2 · MoE routing");
  Narrator n = console_narrator(options);
  auto demo = make_routing_demo();
  core::MoeLayer<float>& layer = *demo->layer;
  core::Router<float>& router = layer.router();
  const MoeConfig& moe = demo->moe;
  const int E = static_cast<int>(moe.routed_experts), k = static_cast<int>(moe.top_k);

  n.title("Chapter 2 · MoE routing",
          "Goal: follow six tokens through one DeepSeekMoE layer — the gate's scores, the two-stage choice of "
          "experts (groups first, then experts), the gate weights, how tokens are dispatched to their experts and "
          "combined back, and how the load the batch put on each expert moves the selection bias. The layer is "
          "DeepSeek-V3's shape at toy size: 1 shared + 8 routed experts, top-2 inside 2 of 4 groups (V3: 1 + 256, "
          "top-8 inside 4 of 8 groups).");

  n.step("The gate: one affinity per token and expert");
  n.say("Each routed expert i has a centroid e_i (a column of the gate matrix). Token t's affinity is "
        "s_{i,t} = sigmoid(u_t · e_i) (V3 report eq. 15) — independent per expert, unlike a softmax.");
  core::Matrix<float> out;
  layer.forward(out, demo->x, 1, RoutingDemo::tokens, demo->params);
  std::string scores = "  token ";
  for (int i = 0; i < E; ++i) scores += fmt::format("{:>7}", fmt::format("e{}", i));
  scores += "\n";
  for (core::Index t = 0; t < RoutingDemo::tokens; ++t)
    scores += fmt::format("  {:5d} ", t) + row_of(router.scores().row(t).data(), E) + "\n";
  n.show(scores);

  n.step("Group-limited routing: groups first");
  n.say("The 8 experts form 4 groups of 2 (in V3 a group is the experts of one node). A group's score is the sum "
        "of its two best s + b; each token keeps only its 2 best groups, so it reaches at most 2 nodes (V3: 4 of 8) "
        "— that caps the all-to-all traffic across nodes.");
  std::string groups = "  token   group scores (g0 … g3)           kept groups\n";
  for (core::Index t = 0; t < RoutingDemo::tokens; ++t) {
    float group_score[4];
    int kept[2];
    core::group_scores(router.scores().row(t).data(), router.bias().data(), moe, group_score);
    core::kept_groups(group_score, moe, kept);
    groups += fmt::format("  {:5d}  {}      {}, {}\n", t, row_of(group_score, 4), kept[0], kept[1]);
  }
  n.show(groups);

  n.step("Then the top-2 experts inside the kept groups, and their weights");
  n.say("Among the experts of its kept groups, each token takes the k = 2 largest s + b. Its gate weights are the "
        "chosen scores normalised to sum to 1: g = s / Σ_chosen s (eq. 13).");
  n.show(routing_table(router, RoutingDemo::tokens, k));

  n.step("The selection bias chooses, but never weighs");
  n.say("Auxiliary-loss-free balancing adds a bias b_i to the scores — for choosing only. Push expert " +
        std::to_string(router.chosen()[0]) + " (token 0's first choice) down by 1.0 and route again: the choices "
        "change, but every weight is still computed from s alone.");
  const std::vector<float> saved_bias = router.bias();
  router.bias()[static_cast<std::size_t>(router.chosen()[0])] -= 1.0f;
  layer.forward(out, demo->x, 1, RoutingDemo::tokens, demo->params);
  n.show(routing_table(router, RoutingDemo::tokens, k));
  router.bias() = saved_bias;
  layer.forward(out, demo->x, 1, RoutingDemo::tokens, demo->params);

  n.step("Dispatch: each expert's tokens, side by side");
  n.say("To run each expert once, the routed copies of the tokens are gathered per expert — in token order — into "
        "one buffer whose per-expert segments are padded to the GEMM tile (4 rows here, 128 on a GPU) so that no "
        "tile straddles two experts. The same plan drives the CUDA kernels (kernels/moe_layout.hpp).");
  const kernels::DispatchPlan plan = kernels::plan_dispatch(router.chosen(), E, 4);
  const std::vector<int> position = kernels::dispatch_positions(router.chosen(), plan);
  std::string segments = "  expert   tokens (copies)      rows in the buffer\n";
  for (int e = 0; e < E; ++e) {
    std::string who, rows;
    for (std::size_t c = 0; c < router.chosen().size(); ++c)
      if (router.chosen()[c] == e) {
        who += fmt::format(" t{}", c / static_cast<std::size_t>(k));
        rows += fmt::format(" {}", position[c]);
      }
    segments += fmt::format("  {:6d}  {:<20} {}\n", e, who.empty() ? " —" : who, rows.empty() ? " —" : rows);
  }
  segments += fmt::format("  buffer: {} rows for {} copies (the rest is padding)\n", plan.padded_rows(), router.chosen().size());
  n.show(segments);

  n.step("Combine: the weighted sum back in token order");
  n.say("Each expert (a small SwiGLU FFN) runs on its rows; every output row goes back to its token, multiplied by "
        "its gate weight, and is added to the shared expert's output: h_t = Σ shared(u_t) + Σ_i g_{i,t} FFN_i(u_t) "
        "(eq. 12). Token 0's output, first 4 of its 8 values:");
  n.show("  " + row_of(out.row(0).data(), 4) + "\n");

  n.step("The load, MaxVio, and the bias update");
  const core::LoadStats& load = router.load();
  std::string loads = "  expert  ";
  for (int e = 0; e < E; ++e) loads += fmt::format("{:6d}", e);
  loads += "\n  tokens  ";
  for (int e = 0; e < E; ++e) loads += fmt::format("{:6d}", load.tokens_per_expert[static_cast<std::size_t>(e)]);
  n.show(loads + fmt::format("\n  MaxVio = max load / mean load − 1 = {:.3f}\n", load.max_violation()));
  n.say("After each step, every expert busier than the mean has its bias lowered by γ, every idler one raised by γ "
        "(V3 §2.1.2; γ = 0.001 in V3, 0.05 here to make it visible). The biases after one update:");
  router.update_bias();
  n.show("  " + row_of(router.bias().data(), E, "{:7.2f}") + "\n");

  n.exercises({"Set groups_per_token to 4 (no limit) in routing_demo.hpp: which tokens now pick experts from groups "
               "they were kept out of? What would that cost in all-to-all traffic across nodes?",
               "Switch the gate to softmax (score_func) with normalize_top_k false: how do the gate weights change, "
               "and why does V3 normalise sigmoid scores?",
               "Run the update for 20 steps on the same batch (call forward and update_bias in a loop): does MaxVio "
               "fall to 0? Why can it not always reach 0 with top-2 over 6 tokens?",
               "With a tile of 128 and 256 experts, how many rows of padding can a batch of 4,096 tokens × top-8 "
               "need at most? (kernels/moe_layout.hpp)"});
  return 0;
}
