// frugal-train as a user runs it: training with metrics and checkpoints, resuming, experiments,
// and bad input refused with one line, exit status 2 and nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "program_run.hpp"

namespace {
using frugal::testing::expect_refused;
using frugal::testing::frugal_train;
using frugal::testing::ProgramRun;
using frugal::testing::slurp;
using frugal::testing::temp_path;
using frugal::testing::write_temp;


// A small model and run in the config-file format frugal-sim also reads.
std::string small_config(const std::string& extra_training = "") {
  return write_temp(R"({
  "model": {"name": "cli-tiny", "vocab_size": 32, "hidden_size": 32, "num_layers": 2, "max_seq_len": 32,
            "attention": {"kind": "mla", "num_heads": 2, "q_lora_rank": 16, "kv_lora_rank": 8,
                          "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8},
            "ffn": {"intermediate_size": 48},
            "moe": {"routed_experts": 8, "shared_experts": 1, "top_k": 2, "expert_intermediate_size": 16,
                    "first_dense_layers": 1, "groups": 4, "groups_per_token": 2, "score_func": "sigmoid",
                    "normalize_top_k": true}},
  "cpu_training": {"steps": 12, "batch_size": 4, "seq_len": 32, "eval_every": 6, "log_every": 3,
                   "data": {"kind": "markov", "alphabet": 16, "order": 1, "successors": 3})" +
                    extra_training + "}\n}\n");
}

TEST(TrainCli, TrainsAndWritesMetricsAndACheckpoint) {
  const std::string csv = temp_path(".csv"), json = temp_path(".metrics.json"), ckpt = temp_path(".ckpt");
  const ProgramRun r = frugal_train("--config " + small_config() + " --metrics-csv " + csv + " --metrics-json " + json +
                                    " --checkpoint " + ckpt);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* needle : {"cli-tiny", "activated", "floor", "step    12/12", "MaxVio", "held-out", "saved"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  const std::string rows = slurp(csv);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 13);  // header + 12 steps
  const auto j = nlohmann::json::parse(slurp(json));
  EXPECT_EQ(j["history"].size(), 12u);
  EXPECT_EQ(j["history"][0]["expert_load"].size(), 1u);  // one MoE layer
  EXPECT_EQ(j["history"][0]["expert_load"][0].size(), 8u);
  EXPECT_TRUE(j["history"][5]["eval_loss"].is_number());
  EXPECT_TRUE(std::filesystem::exists(ckpt));
  EXPECT_FALSE(std::filesystem::exists(ckpt + ".tmp"));
}

TEST(TrainCli, ResumeContinuesToTheSameWeights) {
  const std::string straight = temp_path(".straight.ckpt"), half = temp_path(".half.ckpt"), resumed = temp_path(".resumed.ckpt");
  const std::string config = small_config();
  ASSERT_EQ(frugal_train("--config " + config + " --quiet --checkpoint " + straight).status, 0);
  // Stop the 12-step run after 6 steps (its schedule still spans 12), then resume it.
  ASSERT_EQ(frugal_train("--config " + config + " --quiet --stop-after 6 --checkpoint " + half).status, 0);
  const ProgramRun r = frugal_train("--config " + config + " --resume " + half + " --checkpoint " + resumed);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("resume"), std::string::npos);
  // Weights, optimizer moments and router biases are bit-identical; the metrics history at the
  // end of the file differs only in its measured tokens/s, and with it the header's checksum.
  const std::string a = slurp(straight), b = slurp(resumed);
  const std::size_t header = 28, history_a = a.find("[{\"all_to_all_bytes\""), history_b = b.find("[{\"all_to_all_bytes\"");
  ASSERT_NE(history_a, std::string::npos);
  ASSERT_EQ(history_a, history_b);
  const std::size_t length_prefix = 8;  // the history's byte count precedes it
  EXPECT_TRUE(a.compare(header, history_a - length_prefix - header, b, header, history_b - length_prefix - header) == 0);
}

TEST(TrainCli, TheShippedConfigTrainsAndFrugalSimPricesIt) {
  const std::string config = std::string(FRUGAL_MODELS_DIR) + "/deepseek-v3-tiny.json";
  const ProgramRun trained = frugal_train("--config " + config + " --steps 2 --eval-every 2");
  ASSERT_EQ(trained.status, 0) << trained.err;
  EXPECT_NE(trained.out.find("deepseek-v3-tiny (mla attention, 1 shared + 16 routed experts, top-4)"), std::string::npos)
      << trained.out;
  const ProgramRun priced = frugal::testing::run_program(FRUGAL_SIM_EXE, "train --config " + config);
  ASSERT_EQ(priced.status, 0) << priced.err;
  EXPECT_NE(priced.out.find("deepseek-v3-tiny"), std::string::npos);
  // The preset every program ships (frugal::config) is the same model as the file: the same
  // parameter count from --config and from --preset.
  const ProgramRun preset = frugal_train("--preset deepseek-v3-tiny --steps 1 --eval-every 1");
  ASSERT_EQ(preset.status, 0) << preset.err;
  EXPECT_NE(trained.out.find("438016 parameters"), std::string::npos) << trained.out;
  EXPECT_NE(preset.out.find("438016 parameters"), std::string::npos) << preset.out;
  // ... and the same run: the preset's "cpu_training" (600 steps of 16 sequences, what the
  // chapters train), not TrainOptions' bare defaults of 300 steps.
  const ProgramRun whole = frugal_train("--preset deepseek-v3-tiny --stop-after 1");
  ASSERT_EQ(whole.status, 0) << whole.err;
  EXPECT_NE(whole.out.find("train   600 steps × 16 sequences × 64 tokens"), std::string::npos) << whole.out;
}

TEST(TrainCli, BadFieldIsRefusedWithItsPath) {
  const std::string csv = temp_path(".csv");
  expect_refused(frugal_train("--config " + small_config(R"(, "router": {"balancing": "magic"})") + " --metrics-csv " + csv),
                 "cpu_training.router.balancing");
  EXPECT_FALSE(std::filesystem::exists(csv));
  expect_refused(frugal_train("--config " + small_config(R"(, "stepz": 3)")), "cpu_training.stepz");
  expect_refused(frugal_train("--config " + small_config() + " --steps 0"), "cpu_training.steps");
  expect_refused(frugal_train("--preset deepseek-v3-tiny --balancing sometimes"), "cpu_training.router.balancing");
  expect_refused(frugal_train("--preset no-such-model"), "--preset");
  expect_refused(frugal_train("--config /nonexistent/config.json"), "cannot open");
}

TEST(TrainCli, ModelTheReferenceCannotTrainIsRefused) {
  // Llama 3's GQA trains; GPT-3's GELU FFN does not (the CPU reference implements SwiGLU).
  expect_refused(frugal_train("--preset gpt-3-175b"), "model.ffn.activation");
}

TEST(TrainCli, CorruptCheckpointIsRefusedWithTheReason) {
  const std::string ckpt = temp_path(".ckpt");
  ASSERT_EQ(frugal_train("--config " + small_config() + " --quiet --steps 2 --checkpoint " + ckpt).status, 0);
  std::string bytes = slurp(ckpt);
  bytes[bytes.size() - 50] = static_cast<char>(bytes[bytes.size() - 50] ^ 1);
  const std::string corrupt = write_temp(bytes, ".corrupt.ckpt");
  expect_refused(frugal_train("--config " + small_config() + " --resume " + corrupt), "checksum mismatch");
  expect_refused(frugal_train("--preset deepseek-v3-tiny --resume " + ckpt), "made for a different model");
}

TEST(TrainCli, DivergenceStopsWithTheStepNumber) {
  // An absurd learning rate drives the weights to overflow within a few steps.
  const ProgramRun r = frugal_train("--config " + small_config() + " --lr 1e6 --steps 200");
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("diverged at step"), std::string::npos) << r.err;
}

TEST(TrainCli, TextFileTraining) {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "the quick brown fox jumps over the lazy dog. ";
  const std::string file = write_temp(text, ".txt");
  const ProgramRun r = frugal_train("--preset deepseek-v3-tiny --text " + file + " --steps 3 --batch-size 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("as bytes"), std::string::npos) << r.out;
}

TEST(TrainCli, MarkovOrderSetsTheSource) {
  // The config's source is order 1; the flag makes it order 2 and keeps its other fields.
  const ProgramRun r = frugal_train("--config " + small_config() + " --markov-order 2 --steps 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Markov chain, order 2, alphabet 16, 3 successors"), std::string::npos) << r.out;
  const ProgramRun preset = frugal_train("--preset deepseek-v3-tiny --markov-order 1 --steps 1 --batch-size 2");
  ASSERT_EQ(preset.status, 0) << preset.err;
  EXPECT_NE(preset.out.find("Markov chain, order 1"), std::string::npos) << preset.out;
  expect_refused(frugal_train("--config " + small_config() + " --markov-order 3"), "cpu_training.data.order");
  const std::string file = write_temp("some text to read byte by byte, long enough for a sequence or two. ", ".txt");
  expect_refused(frugal_train("--preset deepseek-v3-tiny --text " + file + " --markov-order 1"), "--markov-order");
}

TEST(TrainCli, MtpWeightTrainsTheModules) {
  const ProgramRun r = frugal_train("--preset deepseek-v3-tiny --steps 2 --batch-size 2 --mtp-weight 0.3");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("+ 1 Multi-Token Prediction module(s), 126832 parameters"), std::string::npos) << r.out;
  expect_refused(frugal_train("--preset deepseek-v3-tiny --mtp-weight -1"), "cpu_training.mtp_weight");
}

TEST(TrainCli, ExperimentPrintsItsTable) {
  const std::string json = temp_path(".experiment.json");
  const ProgramRun r = frugal_train("experiment balancing --config " + small_config() + " --steps 6 --json " + json);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* needle : {"aux-loss-free", "aux-loss", "unbalanced", "MaxVio", "eval@equal"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle;
  const auto report = nlohmann::json::parse(slurp(json));
  EXPECT_EQ(report["seeds"], 3);  // the default: three seeds, mean ± spread
  EXPECT_EQ(report["arms"].size(), 9u);
  expect_refused(frugal_train("experiment sideways"), "sideways");
}

// The FP8 experiments from the command line: the ablation at --hidden, the sweep over --widths, the
// interface the issue asked for (arms with name and relative_loss_gap; width rows with hidden).
TEST(TrainCli, Fp8AblationAndWidthTakeTheirWidths) {
  const std::string json = temp_path(".fp8.json");
  ProgramRun r = frugal_train("experiment fp8-ablation --config " + small_config() + " --steps 3 --seeds 1 --hidden 16 --json " + json);
  ASSERT_EQ(r.status, 0) << r.err;
  auto report = nlohmann::json::parse(slurp(json));
  ASSERT_EQ(report["arms"].size(), 9u);
  EXPECT_EQ(report["arms"][8]["name"], "no-promotion");
  EXPECT_TRUE(report["arms"][8]["relative_loss_gap"].is_number());
  r = frugal_train("experiment fp8-width --config " + small_config() + " --steps 3 --seeds 1 --widths 16 32 --json " + json);
  ASSERT_EQ(r.status, 0) << r.err;
  report = nlohmann::json::parse(slurp(json));
  ASSERT_EQ(report["widths"].size(), 2u);
  EXPECT_EQ(report["widths"][1]["hidden"], 32);
  EXPECT_TRUE(report["widths"][1]["relative_loss_gap"].is_number());
  expect_refused(frugal_train("experiment fp8-width --config " + small_config() + " --widths 4"), "--widths");
}

// A dense student of the small config's vocabulary, as its own config file.
std::string student_config() {
  return write_temp(R"({
  "model": {"name": "cli-student", "vocab_size": 32, "hidden_size": 16, "num_layers": 1, "max_seq_len": 32,
            "attention": {"kind": "mha", "num_heads": 2, "head_dim": 8}, "ffn": {"intermediate_size": 24}},
  "cpu_training": {"steps": 4, "batch_size": 4, "seq_len": 32, "eval_every": 2,
                   "data": {"kind": "markov", "alphabet": 16, "order": 1, "successors": 3}}
}
)", ".student.json");
}

TEST(TrainCli, DistilsFromATeachersCheckpoint) {
  const std::string teacher = small_config(), ckpt = temp_path(".teacher.ckpt"), csv = temp_path(".csv");
  ASSERT_EQ(frugal_train("--config " + teacher + " --quiet --checkpoint " + ckpt).status, 0);
  const std::string student = student_config(), from = " --teacher-config " + teacher + " --teacher-checkpoint " + ckpt;

  ProgramRun r = frugal_train("--config " + student + " --distill logit --kd-temperature 3 --kd-alpha 0.7" + from +
                              " --metrics-csv " + csv);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* needle : {"teacher cli-tiny", "logit distillation: α = 0.7", "T = 3", "held-out"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  const std::string rows = slurp(csv);
  EXPECT_NE(rows.find("distillation_loss,teacher_flops"), std::string::npos) << rows;
  // Step 1's row: 14 columns, distillation_loss (the 12th) filled in, eval_loss and mtp_loss empty.
  std::vector<std::string> fields;
  std::stringstream first_row(rows.substr(rows.find('\n') + 1, rows.find('\n', rows.find('\n') + 1) - rows.find('\n') - 1));
  for (std::string field; std::getline(first_row, field, ',');) fields.push_back(field);
  ASSERT_EQ(fields.size(), 14u) << rows;
  EXPECT_TRUE(fields[3].empty() && fields[10].empty()) << rows;
  EXPECT_GT(std::stod(fields[11]), 0.0) << rows;
  EXPECT_GT(std::stod(fields[12]), 0.0) << rows;  // teacher FLOPs

  r = frugal_train("--config " + student + " --distill sequence --kd-samples 8 --sample-temperature 0.5" + from);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("training on 8 sequences it samples at τ = 0.5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GFLOP,"), std::string::npos) << r.out;  // what writing them cost
}

// The shipped student config is the experiment's student (89,504 parameters, distillation_student
// of deepseek-v3-tiny) and distils from a deepseek-v3-tiny checkpoint.
TEST(TrainCli, TheShippedStudentConfigDistils) {
  const std::string configs = FRUGAL_CORE_CONFIGS_DIR, teacher = std::string(FRUGAL_MODELS_DIR) + "/deepseek-v3-tiny.json",
                    ckpt = temp_path(".teacher.ckpt");
  ASSERT_EQ(frugal_train("--config " + teacher + " --steps 1 --quiet --checkpoint " + ckpt).status, 0);
  const ProgramRun r = frugal_train("--config " + configs + "/deepseek-v3-tiny-student.json --steps 2 --eval-every 2 --teacher-config " +
                                    teacher + " --teacher-checkpoint " + ckpt);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* needle : {"deepseek-v3-tiny-student", "89504 parameters", "teacher deepseek-v3-tiny (438016 parameters"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
}

TEST(TrainCli, DistillationWithoutAFittingTeacherIsRefused) {
  const std::string student = student_config(), out = temp_path(".out.ckpt");
  expect_refused(frugal_train("--config " + student + " --distill logit"), "cpu_training.distillation.teacher_config");
  expect_refused(frugal_train("--config " + student + " --distill soft"), "cpu_training.distillation.kind");
  expect_refused(frugal_train("--config " + student + " --distill logit --teacher-config " + small_config() +
                              " --teacher-checkpoint /nonexistent/teacher.ckpt --checkpoint " + out),
                 "/nonexistent/teacher.ckpt");
  EXPECT_FALSE(std::filesystem::exists(out));
  // The student's own config and a fresh checkpoint of it are not the small MoE teacher's.
  const std::string wrong = temp_path(".wrong.ckpt");
  ASSERT_EQ(frugal_train("--config " + student + " --quiet --steps 1 --checkpoint " + wrong).status, 0);
  expect_refused(frugal_train("--config " + student + " --distill sequence --teacher-config " + small_config() +
                              " --teacher-checkpoint " + wrong),
                 "made for a different model");
}

}  // namespace
