// Chapter 10 · Parallelism and communication: the tiny model trained over 4 real MPI ranks with
// expert parallelism — the all-to-all measured beside frugal-sim's formula, node-limited routing —
// then, at V3's scale, the pipeline bubble of each schedule (V3 report Table 2) and how much
// communication DualPipe hides.
//
// The narrating process runs the MPI part as a child: mpirun -np 4 <this program>
// --measure-all-to-all FILE, whose rank 0 writes what it measured to FILE (JSON). So the chapter
// keeps its pauses, and runs without MPI too (that step then says why it cannot).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "../common/narrator.hpp"
#include "../common/tiny_run.hpp"
#include "../common/v3_run.hpp"
#include "all_to_all_check.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/pipeline.hpp"
#include "frugal/sim/text_table.hpp"
#include "frugal/sim/training_corpus.hpp"
#include "frugal/sim/training_sim.hpp"
#ifdef FRUGAL_MPIEXEC
#include "frugal/mpi/mpi_parallelism.hpp"
#endif

using namespace frugal;
using namespace frugal::chapters;

namespace {

constexpr int kRanks = 4;

// The layouts measured: 4 expert-parallel ranks on one node, then on 4 nodes of one rank.
struct Layout {
  const char* name;
  int ranks_per_node;
};
constexpr Layout kLayouts[] = {{"one node", 0}, {"4 nodes", 1}};

nlohmann::json check_json(const core::AllToAllCheck& c) {
  return {{"layers", c.layers},
          {"tokens_per_rank", c.tokens_per_rank},
          {"measured_bytes", c.measured_bytes},
          {"remote_copies_per_token", c.remote_copies_per_token},
          {"uniform_copies_per_token", c.uniform_copies_per_token},
          {"formula_bytes_measured_copies", c.formula_bytes_measured_copies},
          {"formula_bytes_uniform", c.formula_bytes_uniform},
          {"has_nodes", c.has_nodes},
          {"max_nodes_per_token", c.max_nodes_per_token},
          {"other_nodes_per_token", c.other_nodes_per_token},
          {"expected_other_nodes_per_token", c.expected_other_nodes_per_token}};
}

#ifdef FRUGAL_MPIEXEC
// Every rank: train the tiny model a few steps in each layout; rank 0 writes the checks to `file`.
int measure_all_to_all(int argc, char** argv, const std::string& file, bool quick) {
  mpi::Session session(&argc, &argv);
  TinyRun run = tiny_run(true);
  run.options.steps = quick ? 3 : 20;
  run.options.batch_size = 16;
  run.options.eval_every = 0;
  nlohmann::json out = nlohmann::json::object();
  for (const Layout& layout : kLayouts) {
    core::check_expert_parallel_layout(session.world(), kRanks, layout.ranks_per_node, run.model, run.options.batch_size);
    mpi::MpiParallelism parallel(kRanks, layout.ranks_per_node);
    core::Trainer trainer(run.model, run.options, nullptr, &parallel);
    while (!trainer.finished()) trainer.step();
    out[layout.name] = check_json(core::check_all_to_all(trainer, run.model, kRanks, layout.ranks_per_node, session.world()));
  }
  if (session.rank() == 0) std::ofstream(file) << out.dump(2);
  return 0;
}
#endif

// Runs the measurement under mpirun; the JSON it wrote, or why there is none.
nlohmann::json run_measurement(const char* self, bool quick, std::string& why) {
#ifdef FRUGAL_MPIEXEC
  char name[] = "/tmp/frugal-chapter-10-XXXXXX";
  const int fd = mkstemp(name);
  if (fd < 0) {
    why = "could not create a temporary file";
    return nullptr;
  }
  close(fd);
  // --oversubscribe: 4 ranks on fewer cores; --allow-run-as-root: OpenMPI refuses root otherwise.
  const std::string command = fmt::format("{} -q --oversubscribe {}-np {} {} --measure-all-to-all {}{} </dev/null", FRUGAL_MPIEXEC,
                                          geteuid() == 0 ? "--allow-run-as-root " : "", kRanks, self, name, quick ? " --quick" : "");
  std::fflush(stdout);
  const int status = std::system(command.c_str());
  nlohmann::json result;
  if (status == 0) try {
      result = nlohmann::json::parse(std::ifstream(name));
    } catch (const nlohmann::json::exception&) {
      result = nullptr;
    }
  std::remove(name);
  if (status != 0 || result.is_null()) why = fmt::format("`{}` failed (status {})", command, status);
  return result;
#else
  (void)self;
  (void)quick;
  why = "this build has no MPI (Debian: libopenmpi-dev, openmpi-bin)";
  return nullptr;
#endif
}

std::string pipeline_table(const sim::StageEstimate& stage, std::int64_t pp) {
  const sim::StepBreakdown& s = stage.step;
  sim::TextTable t({"schedule", "bubble formula (V3 Table 2)", "bubble per step", "of the step's compute", "micro-batches of activations held", "parameter copies"});
  t.set_left_aligned({1});
  const double compute = static_cast<double>(s.micro_batches) * (s.forward_s + s.backward_s);
  struct Row {
    sim::PipelineSchedule schedule;
    const char* formula;
  };
  for (const Row& r : {Row{sim::PipelineSchedule::one_f_one_b, "(PP − 1)(F + B)"}, Row{sim::PipelineSchedule::zero_bubble, "(PP − 1)(F + B − 2W)"},
                       Row{sim::PipelineSchedule::dualpipe, "(PP/2 − 1)(F&B + B − 3W)"}}) {
    const double bubble = sim::bubble_time(r.schedule, pp, 2, s.forward_s, s.backward_s, s.weight_grad_s);
    const double in_flight = sim::activations_in_flight(r.schedule, pp, 2);
    t.add_row({sim::to_string(r.schedule), r.formula, fmt::format("{:.2f} s", bubble), fmt::format("{:.1f}%", 100 * bubble / compute),
               in_flight == static_cast<double>(pp) ? std::string("PP") : fmt::format("PP + {:g}", in_flight - static_cast<double>(pp)),
               fmt::format("{:g}", sim::parameter_copies(r.schedule, pp))});
  }
  return t.render();
}

}  // namespace

int main(int argc, char** argv) {
  std::string measure_file;
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 10 · Parallelism and communication", [&](CLI::App& app) {
    app.add_option("--measure-all-to-all", measure_file, "(internal) run as one MPI rank of the measurement, writing to FILE")
        ->group("");
  });
#ifdef FRUGAL_MPIEXEC
  if (!measure_file.empty()) return measure_all_to_all(argc, argv, measure_file, options.quick);
  if (mpi::launched_by_mpirun()) {
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");  // one line, from the first rank only
    if (rank == nullptr || std::string(rank) == "0")
      std::fprintf(stderr, "%s: error: run this chapter directly, not under mpirun: it starts `mpirun -np %d` itself\n", argv[0], kRanks);
    return 2;
  }
#endif
  Narrator n = console_narrator(options);
  const TinyRun setup = tiny_run(true);
  n.title("Chapter 10 · Parallelism and communication",
          "Goal: watch tokens travel to their experts between real processes and count the bytes, see what "
          "node-limited routing saves, and see how DeepSeek-V3's DualPipe schedule shrinks the pipeline bubble and "
          "hides the traffic behind computation.");

  n.step("Experts on different processes");
  n.say(fmt::format("With expert parallelism (EP) each GPU holds a share of every MoE layer's routed experts — V3 "
                    "spreads 256 over 64 GPUs on 8 nodes (§3.2). A token's hidden state must travel to each of its "
                    "{} chosen experts' GPUs and the results back: the all-to-all dispatch and combine, twice more "
                    "in the backward pass. Here {} MPI ranks play the GPUs: deepseek-v3-tiny's {} routed experts, "
                    "{} per rank, every rank training on its quarter of each batch.",
                    setup.model.moe.top_k, kRanks, setup.model.moe.routed_experts, setup.model.moe.routed_experts / kRanks));

  n.step(fmt::format("Measure the all-to-all: mpirun -np {}", kRanks));
  std::string why;
  const nlohmann::json measured = run_measurement(argv[0], options.quick, why);
  if (measured.is_null()) {
    n.say(fmt::format("This step needs MPI and could not run: {}. `mpirun -np 4 frugal-train --ep 4` measures the "
                      "same thing.",
                      why));
  } else {
    const nlohmann::json& one = measured.at("one node");
    n.say(fmt::format("Each step, each rank sent {:.1f} KB to the others. Of each token's {} routed copies, {:.3f} left "
                      "its rank — uniform routing would give k(1 − 1/ep) = {:.3f}. frugal-sim's formula — 4 passes × {:g} "
                      "MoE layers × {:g} tokens × copies × {} values × 4 bytes — gives {:.1f} KB with the measured copies: "
                      "the simulator's all-to-all model, checked byte for byte.",
                      one.at("measured_bytes").get<double>() / 1e3, setup.model.moe.top_k, one.at("remote_copies_per_token").get<double>(),
                      one.at("uniform_copies_per_token").get<double>(), one.at("layers").get<double>(),
                      one.at("tokens_per_rank").get<double>(), setup.model.hidden_size,
                      one.at("formula_bytes_measured_copies").get<double>() / 1e3));
    const nlohmann::json& nodes = measured.at("4 nodes");
    n.say(fmt::format("Now call each rank a node. Node-limited routing (V3 §2.1.2) lets a token pick experts from at most "
                      "M = {} groups, and here each node holds one group: every token reached at most {} nodes. "
                      "Crossing nodes (InfiniBand, 50 GB/s per H800) costs four times NVLink (200 GB/s): V3 sends each "
                      "token once per node it needs and forwards inside the node, so what counts is {:.3f} other "
                      "nodes per token here; frugal-sim expects {:.3f} (its with-replacement shortcut for k distinct "
                      "experts understates the spread a little at this tiny size).",
                      setup.model.moe.groups_per_token, nodes.at("max_nodes_per_token").get<std::int64_t>(),
                      nodes.at("other_nodes_per_token").get<double>(), nodes.at("expected_other_nodes_per_token").get<double>()));
  }

  n.step("The pipeline bubble at V3's scale");
  const sim::TrainingRun run = deepseek_v3_run();
  const sim::TrainingEstimate v3 = sim::simulate_training(run);
  const sim::StageEstimate& pre = v3.stages.front();
  n.say(fmt::format("V3 splits its 61 layers over PP = {} pipeline stages. A stage idles while the first micro-batches "
                    "fill the pipeline and the last ones drain it: the bubble. With frugal-sim's times for one "
                    "micro-batch on one stage — forward F = {:.0f} ms, backward B = {:.0f} ms of which the weight "
                    "gradient W = {:.0f} ms — and {} micro-batches per step:",
                    run.parallel.pp, 1e3 * pre.step.forward_s, 1e3 * pre.step.backward_s, 1e3 * pre.step.weight_grad_s,
                    pre.step.micro_batches));
  n.show(pipeline_table(pre, run.parallel.pp));
  n.say("DualPipe (§3.2.1) feeds micro-batches from both ends of the pipeline at once, so it halves the fill and "
        "drain, and overlaps each forward chunk with a backward chunk so that one's all-to-all runs under the "
        "other's computation. The price: two copies of the parameters per stage, and one more micro-batch of "
        "activations.");

  n.step("What DualPipe hides");
  n.say(fmt::format("frugal-sim's step for V3: computation {:.1f} s; the expert all-to-all alone would take {:.1f} s "
                    "if nothing overlapped it ({:.1f}:1 computation to communication — the V3 report says about "
                    "1:1 for cross-node expert parallelism, §3.2.1). With DualPipe and 20 of 132 SMs given to "
                    "communication, {:.2f} s stays exposed; the bubble is {:.2f} s of a {:.1f} s step.",
                    pre.step.compute_s, pre.step.ep_comm_s, pre.step.compute_s / pre.step.ep_comm_s, pre.step.exposed_comm_s,
                    pre.step.bubble_s, pre.step.step_s));

  n.step("What a model of the layout cannot know");
  // The largest floor that rows with the same run and different published figures set (training_corpus.hpp).
  const std::vector<sim::IndistinguishableRows> same_run = sim::indistinguishable_rows(sim::embedded_training_corpus());
  if (!same_run.empty()) {
    const sim::IndistinguishableRows& g = same_run.front();
    const sim::CorpusRow& a = *g.rows.front();
    const sim::CorpusRow& b = *g.rows.back();
    n.say(fmt::format("frugal-sim prices a run from its model, cluster, precision and layout, and checks itself against "
                      "published measurements (`frugal-sim validate --corpus`). Some of those are the same run measured "
                      "twice: \"{}\" at {:.3g} s a step and \"{}\" at {:.3g} s. The model, GPUs, layout and batch are "
                      "the same as frugal-sim reads them; the software is not (the container release, and whether the "
                      "router drops tokens over an expert's capacity). A model of these inputs gives both one step time, "
                      "and the best it can do is {:.1f}% from each: (t_max − t_min) / (t_max + t_min). Before you "
                      "trust a benchmark table to the last 10%, find the software it was measured with.",
                      a.name, sim::published_step_time(a), b.name, sim::published_step_time(b), 100 * g.error_floor));
  }

  n.exercises({"Rerun with `mpirun -np 4 frugal-train --ep 2` (2 expert-parallel × 2 data-parallel): how do the bytes "
               "per rank change, and why?",
               "`frugal-sim train --schedule 1f1b` against the default DualPipe: step time, bubble, memory per GPU.",
               "Set `groups_per_token` to 1 in a copy of config/models/deepseek-v3-tiny.json and train with "
               "`mpirun -np 4 frugal-train --ep 4 --ranks-per-node 1 --config FILE`: what happens to the nodes per "
               "token, and to the loss?"});
  return 0;
}
