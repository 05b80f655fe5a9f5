// Token sources: the Markov source's entropy floor against an independent Monte Carlo estimate
// (the cross-entropy of the true conditional probabilities on sampled text), and text files.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "frugal/core/data.hpp"

namespace frugal::core {
namespace {

// Cross-entropy of the *true* model on sampled batches: the floor, estimated.
double true_model_cross_entropy(const MarkovSource& source, int order, int alphabet, std::int64_t seq_len, int batches) {
  double total = 0;
  std::int64_t count = 0;
  std::vector<double> first(static_cast<std::size_t>(alphabet), 0.0);  // P(x_1 | x_0) needs π's marginals
  std::vector<std::vector<double>> pair(static_cast<std::size_t>(alphabet), std::vector<double>(static_cast<std::size_t>(alphabet), 0.0));
  if (order == 2)
    for (int c = 0; c < alphabet * alphabet; ++c)
      pair[static_cast<std::size_t>(c / alphabet)][static_cast<std::size_t>(c % alphabet)] = source.stationary()[static_cast<std::size_t>(c)];
  for (int b = 0; b < batches; ++b) {
    Rng rng(99, static_cast<std::uint64_t>(b));
    const Batch batch = source.sample(rng, 8, seq_len, false);
    for (std::size_t i = 0; i < batch.targets.size(); ++i) {
      const auto position = static_cast<std::int64_t>(i) % seq_len;
      const int x = batch.targets[i];
      double p;
      if (order == 1) {
        p = source.next_distribution(batch.inputs[i])[static_cast<std::size_t>(x)];
      } else if (position == 0) {
        const auto& row = pair[static_cast<std::size_t>(batch.inputs[i])];
        double sum = 0;
        for (double v : row) sum += v;
        p = row[static_cast<std::size_t>(x)] / sum;
      } else {
        p = source.next_distribution(batch.inputs[i - 1] * alphabet + batch.inputs[i])[static_cast<std::size_t>(x)];
      }
      total -= std::log(p);
      ++count;
    }
  }
  return total / static_cast<double>(count);
}

TEST(MarkovSource, FloorMatchesTheTrueModelsCrossEntropyOrder2) {
  MarkovSource source({16, 2, 3, 5});
  const double estimate = true_model_cross_entropy(source, 2, 16, 32, 400);
  EXPECT_NEAR(estimate, source.loss_floor(32), 0.02 * source.loss_floor(32));
  EXPECT_GT(source.first_token_entropy(), source.entropy_rate());  // one token of context knows less
}

TEST(MarkovSource, FloorMatchesTheTrueModelsCrossEntropyOrder1) {
  MarkovSource source({12, 1, 4, 3});
  const double estimate = true_model_cross_entropy(source, 1, 12, 32, 400);
  EXPECT_NEAR(estimate, source.loss_floor(32), 0.02 * source.loss_floor(32));
  EXPECT_DOUBLE_EQ(source.loss_floor(32), source.entropy_rate());
}

TEST(MarkovSource, DeterministicSuccessorsHaveZeroEntropy) {
  MarkovSource source({10, 1, 1, 1});  // one successor per context: (x + 1) mod 10
  EXPECT_NEAR(source.entropy_rate(), 0.0, 1e-12);
  Rng rng(1);
  const Batch b = source.sample(rng, 2, 8, false);
  for (std::size_t i = 0; i < b.inputs.size(); ++i) EXPECT_EQ(b.targets[i], (b.inputs[i] + 1) % 10);
}

TEST(MarkovSource, StationaryDistributionIsStationary) {
  MarkovSource source({8, 1, 3, 11});
  const auto& pi = source.stationary();
  std::vector<double> next(8, 0.0);
  for (int c = 0; c < 8; ++c) {
    const auto row = source.next_distribution(c);
    for (int x = 0; x < 8; ++x) next[static_cast<std::size_t>(x)] += pi[static_cast<std::size_t>(c)] * row[static_cast<std::size_t>(x)];
  }
  double sum = 0;
  for (int x = 0; x < 8; ++x) {
    EXPECT_NEAR(next[static_cast<std::size_t>(x)], pi[static_cast<std::size_t>(x)], 1e-12);
    sum += pi[static_cast<std::size_t>(x)];
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
}

TEST(MarkovSource, SameStreamSameBatch) {
  MarkovSource source({32, 2, 4, 7});
  Rng a(5, 3), b(5, 3);
  EXPECT_EQ(source.sample(a, 4, 16, false).inputs, source.sample(b, 4, 16, false).inputs);
}

TEST(TextCorpus, BytesAreTokensAndTargetsAreShiftedByOne) {
  const std::string path = ::testing::TempDir() + "/frugal_text_corpus.txt";
  std::string text;
  for (int i = 0; i < 400; ++i) text += static_cast<char>('a' + i % 26);
  std::ofstream(path) << text;
  TextCorpus corpus(path, 16);
  Rng rng(1);
  const Batch b = corpus.sample(rng, 3, 16, false);
  ASSERT_EQ(b.inputs.size(), 48u);
  for (std::size_t i = 0; i < b.inputs.size(); ++i) {
    EXPECT_GE(b.inputs[i], 'a');
    EXPECT_EQ(b.targets[i], 'a' + (b.inputs[i] - 'a' + 1) % 26);
  }
  EXPECT_TRUE(std::isnan(corpus.loss_floor(16)));
}

TEST(TextCorpus, TooShortAFileIsRefusedWithItsName) {
  const std::string path = ::testing::TempDir() + "/frugal_short.txt";
  std::ofstream(path) << "hello";
  try {
    TextCorpus corpus(path, 64);
    FAIL() << "a 5-byte file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("too short"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal::core
