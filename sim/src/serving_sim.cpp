// The serving discrete-event simulation. Requests arrive (Poisson or a trace), join the instance
// with the fewest outstanding requests, and go through continuous-batching iterations: every
// iteration first decodes one step of each running sequence, then each attention-data-parallel rank
// spends the rest of its own token budget on chunks of the prompts dealt to it (chunked prefill);
// the iteration lasts as long as its busiest rank. A request is admitted only when the KV cache can hold
// its prompt and output. Disaggregated deployments prefill on one pool and decode on another,
// moving the KV cache between them over the scale-out network.
//
// Each iteration costs O(log n): running sequences live in a heap keyed by the iteration in which
// they finish, and their total context is kept as a running sum, so 10^6 requests simulate in
// seconds.
#include <algorithm>
#include <cmath>
#include <deque>
#include <fstream>
#include <functional>
#include <limits>
#include <queue>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "frugal/config/bounds.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/sim/expert_placement.hpp"
#include "frugal/sim/serving.hpp"

namespace frugal::sim {

std::vector<TraceRequest> read_trace_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError(file, "cannot open file");
  std::vector<TraceRequest> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream fields(line);
    TraceRequest r;
    std::string extra;
    const std::string where = file + ":" + std::to_string(number);
    if (!(fields >> r.arrival_s >> r.prompt_tokens >> r.output_tokens) || (fields >> extra))
      throw ConfigError(where, "expected \"arrival_s prompt_tokens output_tokens\", got \"" + line + "\"");
    if (static_cast<std::int64_t>(out.size()) >= bounds::requests.max)
      throw ConfigError(where, "more than " + std::to_string(bounds::requests.max) + " requests (" +
                                   bounds::requests.largest_published + ")");
    if (!(r.arrival_s >= 0)) throw ConfigError(where, "arrival time must not be negative");
    if (r.prompt_tokens < 0) throw ConfigError(where, "prompt tokens must not be negative");
    if (r.output_tokens <= 0) throw ConfigError(where, "output tokens must be at least 1");
    if (!out.empty() && r.arrival_s < out.back().arrival_s)
      throw ConfigError(where, "arrival times are not sorted (" + std::to_string(r.arrival_s) + " after " +
                                   std::to_string(out.back().arrival_s) + ")");
    out.push_back(r);
  }
  if (out.empty()) throw ConfigError(file, "no requests in the trace");
  return out;
}

namespace {

struct Request {
  double arrival = 0;
  std::int64_t prompt = 0, output = 0;
  std::int64_t prefill_left = 0;  // prompt tokens still to compute (cache hits excluded)
  std::int64_t cached = 0;
  double first_token = -1, done = -1;
  std::int64_t decode_start = 0;  // the first iteration that decodes it
  std::int64_t rank = 0;          // the attention-data-parallel rank that computes its prompt
};

enum class Role { mixed, prefill, decode };

struct Instance {
  Role role = Role::mixed;
  std::int64_t gpus = 8;
  double kv_capacity = 0;
  double max_sequences = 0;
  std::int64_t ranks = 1;      // attention-data-parallel ranks (GPUs / TP)
  std::int64_t next_rank = 0;  // admitted prompts go to the ranks in turn (round robin)
  std::vector<double> rank_prompt_tokens;  // this iteration's prompt tokens on each rank
  std::vector<std::int64_t> ranks_used;    // the ranks computing prompt tokens this iteration
  std::deque<int> waiting;     // routed here, KV not yet reserved
  std::deque<int> prefilling;  // KV reserved, prompt being computed
  // Running sequences: (finish iteration, request).
  std::priority_queue<std::pair<std::int64_t, int>, std::vector<std::pair<std::int64_t, int>>, std::greater<>> running;
  double context_at_start = 0;  // sum over running of their context when decoding began
  double start_iterations = 0;  // sum over running of the iteration decoding began
  std::int64_t iteration = 0;
  double kv_reserved = 0;
  bool busy = false;
  double busy_time = 0;
  std::vector<int> finishing_prefill;  // prompts that complete in the current iteration
  double max_running = 0;

  std::size_t outstanding() const { return waiting.size() + prefilling.size() + running.size(); }
  bool has_work() const { return outstanding() > 0; }
};

double sample_length(const LengthSpec& spec, std::mt19937_64& rng, double minimum) {
  if (spec.distribution == LengthDistribution::fixed) return std::max(minimum, std::round(spec.mean));
  std::exponential_distribution<double> exp(1.0 / spec.mean);
  return std::max(minimum, std::ceil(exp(rng)));
}

std::vector<Request> make_requests(const ServingWorkload& w) {
  std::vector<Request> out;
  std::mt19937_64 rng(w.seed);
  if (!w.trace.empty()) {
    for (const TraceRequest& t : w.trace)
      out.push_back({t.arrival_s, t.prompt_tokens, t.output_tokens, 0, 0, -1, -1, 0, 0});
  } else {
    std::exponential_distribution<double> gap(w.arrival_rate);
    double now = 0;
    for (std::int64_t i = 0; i < w.requests; ++i) {
      now += gap(rng);
      const auto prompt = static_cast<std::int64_t>(sample_length(w.prompt, rng, 0));
      const auto output = static_cast<std::int64_t>(sample_length(w.output, rng, 1));
      out.push_back({now, prompt, output, 0, 0, -1, -1, 0, 0});
    }
  }
  for (Request& r : out) {
    r.cached = static_cast<std::int64_t>(std::floor(w.prefix_hit_rate * static_cast<double>(r.prompt)));
    r.prefill_left = std::max<std::int64_t>(1, r.prompt - r.cached);  // the last token is always computed
  }
  return out;
}

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  auto at = [&](double q) {
    const auto k = static_cast<std::size_t>(std::min<double>(static_cast<double>(v.size() - 1), std::floor(q * static_cast<double>(v.size()))));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  return p;
}

class Simulation {
 public:
  Simulation(const ModelConfig& m, const ServingDeployment& d, const ServingWorkload& w, const EfficiencyConstants& c)
      : m_(m), d_(d), c_(c), prefill_d_(d.disaggregated ? prefill_deployment(m, d) : d), iteration_(m, d, c),
        requests_(make_requests(w)), rate_(tokens_per_decode_step(d)) {
    if (d.disaggregated) prefill_iteration_.emplace(m, prefill_d_, c);
    auto add = [&](Role role, std::int64_t count, std::int64_t gpus) {
      for (std::int64_t i = 0; i < count; ++i) {
        Instance in;
        in.role = role;
        in.gpus = gpus;
        in.kv_capacity = iteration_of(role).kv_capacity_tokens(gpus, mean_request_tokens());
        in.ranks = std::max<std::int64_t>(1, gpus / d.tp);  // an instance smaller than TP is one rank
        in.max_sequences = static_cast<double>(d.max_batch) * static_cast<double>(in.ranks);
        in.rank_prompt_tokens.assign(static_cast<std::size_t>(in.ranks), 0.0);
        instances_.push_back(std::move(in));
      }
    };
    if (d.disaggregated) {
      add(Role::prefill, d.prefill_instances, d.prefill_gpus_per_instance);
      add(Role::decode, d.instances, d.gpus_per_instance);
    } else {
      add(Role::mixed, d.instances, d.gpus_per_instance);
    }
    for (const Instance& in : instances_)
      if (in.kv_capacity <= 0)
        throw ConfigError("serving.deployment", "the weights leave no room for a KV cache on a " + d.gpu.name +
                                                    " instance of " + std::to_string(in.gpus) + " GPUs");
  }

  ServingResult run() {
    std::size_t next_arrival = 0;
    std::int64_t events = 0;
    while (true) {
      // Bounded work whatever the workload: a few seconds of events (bounds.hpp), then a refusal.
      if (++events > bounds::kMaxSimulatedEvents)
        throw ConfigError("--requests", fmt::format("the simulation passed {:.0e} events (engine iterations, arrivals, "
                                                    "handoffs) before the last request finished: simulate fewer or "
                                                    "shorter requests, or a busier deployment",
                                                    static_cast<double>(bounds::kMaxSimulatedEvents)));
      const double t_arrival = next_arrival < requests_.size() ? requests_[next_arrival].arrival : kInf;
      const double t_handoff = handoffs_.empty() ? kInf : handoffs_.top().first;
      const double t_end = ends_.empty() ? kInf : ends_.top().first;
      const double now = std::min({t_arrival, t_handoff, t_end});
      if (now == kInf) break;
      advance_clock(now);
      if (now == t_end) {
        const int i = ends_.top().second;
        ends_.pop();
        finish_iteration(i, now);
        start_iteration(i, now);
      } else if (now == t_handoff) {
        const int r = handoffs_.top().second;
        handoffs_.pop();
        route(r, Role::decode, now);
      } else {
        const int r = static_cast<int>(next_arrival++);
        ++in_system_;
        route(r, d_.disaggregated ? Role::prefill : Role::mixed, now);
      }
    }
    return summarise();
  }

 private:
  // A request's mean length, prompt and output: the context local layers' caches are sized for.
  std::int64_t mean_request_tokens() const {
    double sum = 0;
    for (const Request& q : requests_) sum += static_cast<double>(q.prompt + q.output);
    return requests_.empty() ? 0 : static_cast<std::int64_t>(sum / static_cast<double>(requests_.size()));
  }

  static constexpr double kInf = std::numeric_limits<double>::infinity();

  void advance_clock(double now) {
    if (clock_ >= 0) area_ += static_cast<double>(in_system_) * (now - clock_);
    clock_ = now;
  }

  void route(int r, Role role, double now) {
    int best = -1;
    for (int i = 0; i < static_cast<int>(instances_.size()); ++i) {
      if (instances_[static_cast<std::size_t>(i)].role != role) continue;
      if (best < 0 || instances_[static_cast<std::size_t>(i)].outstanding() < instances_[static_cast<std::size_t>(best)].outstanding()) best = i;
    }
    Instance& in = instances_[static_cast<std::size_t>(best)];
    in.waiting.push_back(r);
    if (!in.busy) start_iteration(best, now);
  }

  double kv_need(const Request& r) const { return static_cast<double>(r.prompt + r.output); }

  // The sequence decodes from iteration `start` on, `rate_` tokens per iteration on average
  // (MTP drafts accepted in expectation), until its output is complete.
  void begin_decode(Instance& in, int r, std::int64_t start) {
    Request& q = requests_[static_cast<std::size_t>(r)];
    const auto steps = static_cast<std::int64_t>(std::ceil(static_cast<double>(q.output - 1) / rate_));
    q.decode_start = start;
    in.running.push({start + steps - 1, r});
    in.context_at_start += static_cast<double>(q.prompt + 1);
    in.start_iterations += static_cast<double>(start);
    in.max_running = std::max(in.max_running, static_cast<double>(in.running.size()));
  }

  void start_iteration(int i, double now) {
    Instance& in = instances_[static_cast<std::size_t>(i)];
    in.busy = false;
    // Admit while the KV cache and the batch limit allow (FIFO: the head blocks the rest).
    while (!in.waiting.empty()) {
      const int r = in.waiting.front();
      const Request& q = requests_[static_cast<std::size_t>(r)];
      const double sequences = static_cast<double>(in.prefilling.size() + in.running.size());
      const bool empty = sequences == 0;
      if (!empty && (sequences + 1 > in.max_sequences || in.kv_reserved + kv_need(q) > in.kv_capacity)) break;
      in.waiting.pop_front();
      in.kv_reserved += kv_need(q);
      if (in.role == Role::decode) {
        if (q.output <= 1) complete(in, r, now);
        else begin_decode(in, r, in.iteration);
      } else {
        requests_[static_cast<std::size_t>(r)].rank = in.next_rank;
        in.next_rank = (in.next_rank + 1) % in.ranks;
        in.prefilling.push_back(r);
      }
    }
    if (!in.has_work()) return;

    IterationLoad load;
    load.decode_sequences = static_cast<double>(in.running.size());
    load.decode_context = in.context_at_start +
                          rate_ * (load.decode_sequences * static_cast<double>(in.iteration) - in.start_iterations);
    // Each rank fills its own token budget: its share of the decoding rows (the sequences are
    // spread evenly), then chunks of the prompts it holds, first come first served.
    const double budget = static_cast<double>(d_.token_budget) -
                          load.decode_sequences / static_cast<double>(in.ranks) * rows_per_decode_step(d_);
    in.finishing_prefill.clear();
    std::int64_t ranks_with_room = budget >= 1 ? in.ranks : 0;
    in.ranks_used.clear();
    for (int r : in.prefilling) {
      if (ranks_with_room == 0) break;
      Request& q = requests_[static_cast<std::size_t>(r)];
      double& used = in.rank_prompt_tokens[static_cast<std::size_t>(q.rank)];
      if (budget - used < 1) continue;
      const double chunk = std::min<double>(std::floor(budget - used), static_cast<double>(q.prefill_left));
      const double done_before = static_cast<double>(q.prompt - q.prefill_left);  // cached + computed
      if (used == 0) in.ranks_used.push_back(q.rank);
      load.prefill_tokens += chunk;
      load.prefill_context += chunk * (std::max(0.0, done_before) + (chunk + 1) / 2);
      q.prefill_left -= static_cast<std::int64_t>(chunk);
      used += chunk;
      load.prefill_busiest_rank = std::max(load.prefill_busiest_rank, used);
      if (budget - used < 1) --ranks_with_room;
      if (q.prefill_left == 0) in.finishing_prefill.push_back(r);
    }
    for (std::int64_t rank : in.ranks_used) in.rank_prompt_tokens[static_cast<std::size_t>(rank)] = 0;
    if (load.decode_sequences == 0 && load.prefill_tokens == 0) return;  // blocked: nothing can run
    const double t = iteration_of(in.role).time(in.gpus, load);
    in.busy = true;
    in.busy_time += t;
    decoding_area_ += load.decode_sequences * t;
    ends_.push({now + t, i});
  }

  void complete(Instance& in, int r, double now) {
    Request& q = requests_[static_cast<std::size_t>(r)];
    q.done = now;
    if (q.first_token < 0) q.first_token = now;
    in.kv_reserved -= kv_need(q);
    --in_system_;
    ++completed_;
    last_done_ = now;
  }

  void finish_iteration(int i, double now) {
    Instance& in = instances_[static_cast<std::size_t>(i)];
    // Prompts completed: the first token comes out now.
    for (int r : in.finishing_prefill) {
      in.prefilling.erase(std::find(in.prefilling.begin(), in.prefilling.end(), r));
      Request& q = requests_[static_cast<std::size_t>(r)];
      q.first_token = now;
      if (q.output <= 1) {
        complete(in, r, now);
      } else if (in.role == Role::prefill) {
        // Hand the KV cache to a decode instance over the scale-out network.
        in.kv_reserved -= kv_need(q);
        const double bytes = static_cast<double>(q.prompt) * kv_cache_bytes_per_token(m_, d_.kv_dtype, q.prompt);
        handoffs_.push({now + bytes / (d_.gpu.scaleout_bandwidth * c_.scaleout), r});
      } else {
        begin_decode(in, r, in.iteration + 1);
      }
    }
    in.finishing_prefill.clear();
    // Sequences whose last token came out in this iteration.
    while (!in.running.empty() && in.running.top().first <= in.iteration) {
      const int r = in.running.top().second;
      in.running.pop();
      const Request& q = requests_[static_cast<std::size_t>(r)];
      in.context_at_start -= static_cast<double>(q.prompt + 1);
      in.start_iterations -= static_cast<double>(q.decode_start);
      complete(in, r, now);
    }
    ++in.iteration;
    in.busy = false;
  }

  ServingResult summarise() {
    ServingResult s;
    std::vector<double> ttft, tpot, e2e;
    double first_arrival = kInf;
    for (const Request& q : requests_) {
      first_arrival = std::min(first_arrival, q.arrival);
      ttft.push_back(q.first_token - q.arrival);
      e2e.push_back(q.done - q.arrival);
      if (q.output > 1) tpot.push_back((q.done - q.first_token) / static_cast<double>(q.output - 1));
      s.input_tokens += static_cast<double>(q.prompt);
      s.output_tokens += static_cast<double>(q.output);
    }
    s.completed = completed_;
    s.duration_s = last_done_ - first_arrival;
    s.ttft_s = percentiles(std::move(ttft));
    s.tpot_s = percentiles(std::move(tpot));
    s.e2e_s = percentiles(std::move(e2e));
    s.arrival_rate = static_cast<double>(completed_) / s.duration_s;
    s.mean_in_system = area_ / s.duration_s;
    s.mean_decoding = decoding_area_ / s.duration_s;
    const double gpus = static_cast<double>(d_.total_gpus());
    const double nodes = gpus / static_cast<double>(d_.gpu.gpus_per_node);
    s.input_tokens_per_s_per_gpu = s.input_tokens / s.duration_s / gpus;
    s.output_tokens_per_s_per_gpu = s.output_tokens / s.duration_s / gpus;
    s.input_tokens_per_s_per_node = s.input_tokens / s.duration_s / nodes;
    s.output_tokens_per_s_per_node = s.output_tokens / s.duration_s / nodes;
    double busy = 0;
    for (const Instance& in : instances_) {
      busy += in.busy_time;
      s.max_running = std::max(s.max_running, in.max_running);
      if (in.role != Role::prefill) s.kv_capacity_tokens = in.kv_capacity;
    }
    s.utilisation = busy / (static_cast<double>(instances_.size()) * s.duration_s);
    s.cost_usd = gpus * s.duration_s / 3600.0 * d_.price_per_gpu_hour;
    s.cost_per_1k_requests_usd = s.cost_usd / static_cast<double>(completed_) * 1000.0;
    s.cost_per_m_input_tokens_usd = s.cost_usd / s.input_tokens * 1e6;
    s.cost_per_m_output_tokens_usd = s.cost_usd / s.output_tokens * 1e6;
    s.daily_cost_usd = gpus * 24.0 * d_.price_per_gpu_hour;
    return s;
  }

  // Prefill instances of a disaggregated deployment run their own layout (prefill_deployment).
  const IterationModel& iteration_of(Role role) const { return role == Role::prefill ? *prefill_iteration_ : iteration_; }

  const ModelConfig& m_;
  const ServingDeployment& d_;
  const EfficiencyConstants& c_;
  const ServingDeployment prefill_d_;
  IterationModel iteration_;
  std::optional<IterationModel> prefill_iteration_;  // disaggregated only
  std::vector<Request> requests_;
  double rate_;
  std::vector<Instance> instances_;
  std::priority_queue<std::pair<double, int>, std::vector<std::pair<double, int>>, std::greater<>> ends_;
  std::priority_queue<std::pair<double, int>, std::vector<std::pair<double, int>>, std::greater<>> handoffs_;
  double clock_ = -1, area_ = 0, last_done_ = 0;
  double decoding_area_ = 0;  // sum over iterations of sequences decoded x iteration time
  std::int64_t in_system_ = 0, completed_ = 0;
};

}  // namespace

ServingDeployment prefill_deployment(const ModelConfig& m, const ServingDeployment& d) {
  ServingDeployment p = d;
  p.gpus_per_instance = d.prefill_gpus_per_instance;
  if (!m.is_moe()) return p;
  p.ep = d.ep == d.gpus_per_instance ? p.gpus_per_instance : std::min(d.ep, p.gpus_per_instance);
  const std::int64_t routed = m.moe.routed_experts;
  if (d.prefill_redundant_experts) {
    p.redundant_experts = *d.prefill_redundant_experts;
    if (p.redundant_experts < 0 || p.redundant_experts > 4 * routed)
      throw ConfigError("--prefill-redundant-experts", fmt::format("must be 0 to four copies of each of the {} routed experts, got {}",
                                                                   routed, p.redundant_experts));
    if ((routed + p.redundant_experts) % p.ep != 0)
      throw ConfigError("--prefill-redundant-experts",
                        fmt::format("{} gives {} expert slots, which the prefill instances' EP {} does not divide ({} does)",
                                    p.redundant_experts, routed + p.redundant_experts, p.ep, fewest_redundant_slots(routed, p.ep)));
  } else if ((routed + p.redundant_experts) % p.ep != 0) {
    p.redundant_experts = fewest_redundant_slots(routed, p.ep);
    if (p.redundant_experts > 4 * routed)
      throw ConfigError("--prefill-gpus-per-instance",
                        fmt::format("{} GPUs would spread the experts over EP {}, which needs {} redundant experts, more than "
                                    "four copies of each of the {} routed experts",
                                    p.gpus_per_instance, p.ep, p.redundant_experts, routed));
  }
  p.eplb = d.placed_by_load() || p.redundant_experts > 0;
  return p;
}

ServingResult simulate_serving(const ModelConfig& m, const ServingDeployment& d, const ServingWorkload& w,
                               const EfficiencyConstants& c) {
  if (w.trace.empty() && !(w.arrival_rate > 0)) throw ConfigError("--rate", "must be positive");
  if (w.trace.empty() && w.requests <= 0) throw ConfigError("--requests", "must be a positive integer");
  if (!(w.prompt.mean >= 0)) throw ConfigError("--prompt-tokens", "must not be negative");
  if (!(w.output.mean >= 1)) throw ConfigError("--output-tokens", "must be at least 1");
  if (!(w.prefix_hit_rate >= 0 && w.prefix_hit_rate <= 1)) throw ConfigError("--prefix-hit-rate", "must be in [0, 1]");
  if (!(d.mtp_acceptance >= 0 && d.mtp_acceptance < 1)) throw ConfigError("--mtp-acceptance", "must be in [0, 1)");
  if (d.gpus_per_instance % d.tp != 0) throw ConfigError("--tp", "must divide the GPUs of an instance");
  // Each attention-DP rank is tracked: the GPUs in all are bounded as a training cluster's.
  bounds::require_in(d.gpus_per_instance, bounds::gpus, "--gpus-per-instance");
  bounds::require_in(d.instances, bounds::gpus, "--instances");
  if (d.disaggregated) {
    bounds::require_in(d.prefill_gpus_per_instance, bounds::gpus, "--prefill-gpus-per-instance");
    bounds::require_in(d.prefill_instances, bounds::gpus, "--prefill-instances");
  }
  if (d.total_gpus() > bounds::gpus.max)
    throw ConfigError("--instances", fmt::format("{} GPUs in all; must be {}", d.total_gpus(), bounds::describe(bounds::gpus)));
  // The simulation steps once per engine iteration and tracks each request: bounded so that no
  // workload runs for more than seconds or allocates without bound (config/bounds.hpp).
  if (w.trace.empty()) bounds::require_in(w.requests, bounds::requests, "--requests");
  if (!(w.prompt.mean <= static_cast<double>(bounds::sequence.max)))
    throw ConfigError("--prompt-tokens", "must be " + bounds::describe(bounds::sequence) + ", got " + std::to_string(w.prompt.mean));
  if (!(w.output.mean <= static_cast<double>(bounds::sequence.max)))
    throw ConfigError("--output-tokens", "must be " + bounds::describe(bounds::sequence) + ", got " + std::to_string(w.output.mean));
  const double requests = w.trace.empty() ? static_cast<double>(w.requests) : static_cast<double>(w.trace.size());
  const double decoded = requests * w.output.mean;
  if (w.trace.empty() && decoded > bounds::kMaxSimulatedOutputTokens)
    throw ConfigError("--requests", fmt::format("{} requests x {:.0f} output tokens = {:.3g} tokens to decode; a simulation "
                                                "decodes at most {:.0e}: simulate fewer requests",
                                                w.requests, w.output.mean, decoded, bounds::kMaxSimulatedOutputTokens));
  return Simulation(m, d, w, c).run();
}

}  // namespace frugal::sim
