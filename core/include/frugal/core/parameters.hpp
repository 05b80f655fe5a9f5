// All of a model's trainable tensors in one flat buffer, with their gradients in a second one of
// the same layout (llm.c's params_memory / grads_memory). One buffer makes AdamW a single loop,
// a checkpoint a single write with one checksum, and a finite-difference check a walk over indices.
#pragma once

#include <string>
#include <vector>

#include "frugal/core/tensor.hpp"

namespace frugal::core {

struct TensorInfo {
  std::string name;  // "layers.2.attn.w_dkv"
  Index offset = 0;
  Index rows = 0;
  Index cols = 0;
  bool weight_decay = true;  // AdamW decays matrices, not norm gains
  Index size() const { return rows * cols; }
};

template <class T>
class Parameters {
 public:
  // Registers a tensor and returns its id; call before `allocate`.
  int add(std::string name, Index rows, Index cols, bool weight_decay = true) {
    tensors_.push_back(TensorInfo{std::move(name), size_, rows, cols, weight_decay});
    size_ += rows * cols;
    return static_cast<int>(tensors_.size()) - 1;
  }
  void allocate() {
    values_.assign(static_cast<std::size_t>(size_), T(0));
    grads_.assign(static_cast<std::size_t>(size_), T(0));
  }

  // Read access is const even on a mutable store, so that layer functions deduce one type;
  // writers (initialisation, the optimizer, tests) ask for `mutable_value`.
  ConstMatrixMap<T> value(int id) const { return cmap(values_, id); }
  MatrixMap<T> mutable_value(int id) { return map(values_, id); }
  MatrixMap<T> grad(int id) { return map(grads_, id); }
  ConstMatrixMap<T> grad(int id) const { return cmap(grads_, id); }

  void zero_grad() { std::fill(grads_.begin(), grads_.end(), T(0)); }

  AlignedVector<T>& values() { return values_; }
  const AlignedVector<T>& values() const { return values_; }
  AlignedVector<T>& grads() { return grads_; }
  const AlignedVector<T>& grads() const { return grads_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo& info(int id) const { return tensors_[static_cast<std::size_t>(id)]; }
  Index size() const { return size_; }

 private:
  MatrixMap<T> map(AlignedVector<T>& buffer, int id) {
    const TensorInfo& t = info(id);
    return MatrixMap<T>(buffer.data() + t.offset, t.rows, t.cols);
  }
  ConstMatrixMap<T> cmap(const AlignedVector<T>& buffer, int id) const {
    const TensorInfo& t = info(id);
    return ConstMatrixMap<T>(buffer.data() + t.offset, t.rows, t.cols);
  }

  std::vector<TensorInfo> tensors_;
  AlignedVector<T> values_;
  AlignedVector<T> grads_;
  Index size_ = 0;
};

}  // namespace frugal::core
