// Checkpoint files (checkpoint.hpp).
#include "frugal/core/checkpoint.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "frugal/core/atomic_file.hpp"

namespace frugal::core {
namespace {

constexpr char kMagic[8] = {'F', 'R', 'U', 'G', 'A', 'L', 'C', 'K'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 8 + 4 + 8 + 8;

class ByteWriter {
 public:
  template <class T>
  void scalar(T v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    bytes_.append(p, sizeof(T));
  }
  void text(const std::string& s) {
    scalar<std::uint64_t>(s.size());
    bytes_ += s;
  }
  void floats(const std::vector<float>& v) {
    scalar<std::uint64_t>(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  ByteReader(const std::string& bytes, std::size_t offset, std::string path) : bytes_(bytes), at_(offset), path_(std::move(path)) {}
  template <class T>
  T scalar() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string text() {
    const auto n = scalar<std::uint64_t>();
    need(n);
    std::string s = bytes_.substr(at_, n);
    at_ += n;
    return s;
  }
  std::vector<float> floats() {
    const auto n = scalar<std::uint64_t>();
    need(n * sizeof(float));
    std::vector<float> v(n);
    std::memcpy(v.data(), bytes_.data() + at_, n * sizeof(float));
    at_ += n * sizeof(float);
    return v;
  }

 private:
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - at_) throw CheckpointError(path_ + ": malformed checkpoint (a field runs past the end)");
  }
  const std::string& bytes_;
  std::size_t at_;
  std::string path_;
};

}  // namespace

std::string parameter_layout(const Parameters<float>& params) {
  std::string out;
  for (const TensorInfo& t : params.tensors()) out += fmt::format("{} {}x{}\n", t.name, t.rows, t.cols);
  return out;
}

std::uint64_t fnv1a64(const void* data, std::size_t bytes) {
  std::uint64_t hash = 0xCBF29CE484222325ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    hash ^= p[i];
    hash *= 0x100000001B3ull;
  }
  return hash;
}

void write_checkpoint(const std::string& path, const CheckpointState& s) {
  ByteWriter payload;
  payload.text(s.layout);
  payload.scalar<std::int64_t>(s.step);
  payload.scalar<std::uint64_t>(s.seed);
  payload.scalar<double>(s.flops);
  payload.floats(s.params);
  payload.floats(s.adam_m);
  payload.floats(s.adam_v);
  payload.scalar<std::uint64_t>(s.router_bias.size());
  for (const auto& bias : s.router_bias) payload.floats(bias);
  payload.text(s.history_json);

  ByteWriter file;
  std::string out(kMagic, sizeof(kMagic));
  file.scalar<std::uint32_t>(kVersion);
  file.scalar<std::uint64_t>(payload.bytes().size());
  file.scalar<std::uint64_t>(fnv1a64(payload.bytes().data(), payload.bytes().size()));
  out += file.bytes();
  out += payload.bytes();
  write_file_atomically(path, out);
}

CheckpointState read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path + ": cannot open the checkpoint");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    throw CheckpointError(path + ": not a FrugalLM checkpoint (no FRUGALCK header)");
  ByteReader header(bytes, sizeof(kMagic), path);
  const auto version = header.scalar<std::uint32_t>();
  if (version != kVersion)
    throw CheckpointError(fmt::format("{}: checkpoint format version {}, this program reads version {}", path, version, kVersion));
  const auto payload_bytes = header.scalar<std::uint64_t>();
  const auto checksum = header.scalar<std::uint64_t>();
  if (bytes.size() - kHeaderBytes != payload_bytes)
    throw CheckpointError(fmt::format("{}: truncated or padded: the header promises {} bytes of payload, the file holds {}",
                                      path, payload_bytes, bytes.size() - kHeaderBytes));
  if (fnv1a64(bytes.data() + kHeaderBytes, payload_bytes) != checksum)
    throw CheckpointError(path + ": checksum mismatch: the file is corrupt");

  ByteReader r(bytes, kHeaderBytes, path);
  CheckpointState s;
  s.layout = r.text();
  s.step = r.scalar<std::int64_t>();
  s.seed = r.scalar<std::uint64_t>();
  s.flops = r.scalar<double>();
  s.params = r.floats();
  s.adam_m = r.floats();
  s.adam_v = r.floats();
  const auto layers = r.scalar<std::uint64_t>();
  for (std::uint64_t l = 0; l < layers; ++l) s.router_bias.push_back(r.floats());
  s.history_json = r.text();
  return s;
}

void check_layout_matches(const std::string& path, const std::string& checkpoint_layout, const std::string& model_layout) {
  if (checkpoint_layout == model_layout) return;
  std::istringstream a(checkpoint_layout), b(model_layout);
  std::string line_a, line_b;
  for (int index = 0;; ++index) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a || !more_b || line_a != line_b)
      throw CheckpointError(fmt::format("{}: made for a different model: tensor {} is \"{}\" in the checkpoint, \"{}\" in this model",
                                        path, index, more_a ? line_a : "(none)", more_b ? line_b : "(none)"));
  }
}

}  // namespace frugal::core
