// ONNX constant folding: shape computations (Shape -> Gather -> Unsqueeze -> Concat chains,
// Range, Where, arithmetic ...) evaluated on constants and tensor shapes, with integer values
// kept, and the view shapes of layout ops (Reshape, Transpose, Squeeze ...).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/import/onnx_importer.h"

namespace systole::onnx_importer {

std::uint64_t Elements(const Shape& dims) {
  std::uint64_t p = 1;
  for (std::uint64_t d : dims) p = CheckedMul(p, d, "ONNX constant");
  return p;
}

// Multi-index of `flat` in `dims` (row-major).
std::vector<std::uint64_t> Unravel(std::uint64_t flat, const Shape& dims) {
  std::vector<std::uint64_t> idx(dims.size());
  for (std::size_t i = dims.size(); i-- > 0;) {
    idx[i] = dims[i] == 0 ? 0 : flat % dims[i];
    flat = dims[i] == 0 ? 0 : flat / dims[i];
  }
  return idx;
}
std::uint64_t Ravel(const std::vector<std::uint64_t>& idx, const Shape& dims) {
  std::uint64_t flat = 0;
  for (std::size_t i = 0; i < dims.size(); ++i) flat = flat * dims[i] + idx[i];
  return flat;
}

const std::set<std::string>& LayoutOps() {
  static const std::set<std::string> ops = {"Reshape",   "Transpose", "Flatten", "Squeeze",
                                            "Unsqueeze", "Identity",  "Cast",    "Dropout"};
  return ops;
}

// Ops evaluated on constants (shape computations); Shape and Size read any tensor's shape.
const std::set<std::string>& FoldedOps() {
  static const std::set<std::string> ops = {"Constant",  "ConstantOfShape",
                                            "Shape",     "Size",
                                            "Gather",    "Concat",
                                            "Slice",     "Split",
                                            "Range",     "Expand",
                                            "Where",     "Equal",
                                            "Less",      "Greater",
                                            "Not",       "And",
                                            "Or",        "Add",
                                            "Sub",       "Mul",
                                            "Div",       "Mod",
                                            "Pow",       "Neg",
                                            "Abs",       "Sqrt",
                                            "Floor",     "Ceil",
                                            "Max",       "Min",
                                            "Reshape",   "Transpose",
                                            "Flatten",   "Squeeze",
                                            "Unsqueeze", "Identity",
                                            "Cast",      "Dropout"};
  return ops;
}

bool IsIntType(int type) {
  return type == onnx::TensorProto::INT64 || type == onnx::TensorProto::INT32 ||
         type == onnx::TensorProto::INT16 || type == onnx::TensorProto::INT8 ||
         type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::BOOL;
}

// The integer / bool values of `t` (empty when it holds none).
std::vector<std::int64_t> IntData(const onnx::TensorProto& t) {
  std::vector<std::int64_t> out;
  const std::string& raw = t.raw_data();
  auto from_raw = [&](auto sample) {
    using T = decltype(sample);
    std::vector<T> v(raw.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), raw.data(), v.size() * sizeof(T));
    out.assign(v.begin(), v.end());
  };
  switch (t.data_type()) {
    case onnx::TensorProto::INT64:
      if (t.has_raw_data()) {
        from_raw(std::int64_t{});
      } else {
        out.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      if (!t.has_raw_data()) {
        out.assign(t.int32_data().begin(), t.int32_data().end());
      } else if (t.data_type() == onnx::TensorProto::INT32) {
        from_raw(std::int32_t{});
      } else if (t.data_type() == onnx::TensorProto::INT16) {
        from_raw(std::int16_t{});
      } else if (t.data_type() == onnx::TensorProto::INT8) {
        from_raw(std::int8_t{});
      } else {
        from_raw(std::uint8_t{});
      }
      break;
    default:
      break;
  }
  return out;
}

Const ConstFromTensor(const std::string& name, const onnx::TensorProto& t) {
  Const c;
  c.source = name;
  for (std::int64_t d : t.dims()) {
    if (d < 0) {
      throw InputError(
          fmt::format("tensor '{}': dimension {} is negative: expected sizes >= 0", name, d));
    }
    c.dims.push_back(static_cast<std::uint64_t>(d));
  }
  c.is_float = !IsIntType(t.data_type());
  c.initializer = c.is_float;
  if (!c.is_float) {
    c.ints = IntData(t);
    c.known = c.ints.size() == Elements(c.dims);
    if (!c.known) c.ints.clear();
  }
  return c;
}

// `c`'s values broadcast (numpy rules) to `out` (which must be a broadcast of its dims).
std::vector<std::int64_t> BroadcastTo(const Const& c, const Shape& out) {
  std::vector<std::int64_t> v(Elements(out));
  const std::size_t lead = out.size() - c.dims.size();
  for (std::uint64_t f = 0; f < v.size(); ++f) {
    const std::vector<std::uint64_t> idx = Unravel(f, out);
    std::vector<std::uint64_t> src(c.dims.size());
    for (std::size_t i = 0; i < c.dims.size(); ++i) src[i] = c.dims[i] == 1 ? 0 : idx[lead + i];
    v[f] = c.ints[Ravel(src, c.dims)];
  }
  return v;
}

// The values of input `i` (a shape, axes, starts ...), which must be computed from
// constants and shapes only; `what` names it in the error.
const std::vector<std::int64_t>& Importer::ConstInts(const onnx::NodeProto& node, int i,
                                                     const char* what) const {
  auto c = consts_.find(Input(node, i));
  if (values_.count(Input(node, i)) || c == consts_.end() || !c->second.known) {
    Fail(node, fmt::format("its {} '{}' cannot be resolved statically (it is not computed "
                           "from constants and tensor shapes only)",
                           what, Input(node, i)));
  }
  return c->second.ints;
}

std::int64_t Importer::Axis(const onnx::NodeProto& node, std::int64_t a, std::size_t rank,
                            const Importer& self) {
  const auto r = static_cast<std::int64_t>(rank);
  if (a < -r || a >= r) self.Fail(node, fmt::format("axis {} out of range for rank {}", a, r));
  return a < 0 ? a + r : a;
}

std::vector<std::int64_t> Importer::Perm(const onnx::NodeProto& node, std::size_t rank) const {
  std::vector<std::int64_t> perm = IntsAttr(node, "perm", {});
  if (perm.empty()) {
    for (auto i = static_cast<std::int64_t>(rank) - 1; i >= 0; --i) perm.push_back(i);
  }
  if (perm.size() != rank) Fail(node, "perm does not match rank");
  for (std::int64_t p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(rank)) Fail(node, "perm out of range");
  }
  return perm;
}

// Layout ops: the output is the input under another view shape.
Shape Importer::LayoutShape(const onnx::NodeProto& node, const Shape& in) const {
  const std::string& type = node.op_type();
  if (type == "Identity" || type == "Cast" || type == "Dropout") return in;
  const auto rank = static_cast<std::int64_t>(in.size());
  if (type == "Transpose") {
    Shape out;
    for (std::int64_t p : Perm(node, in.size())) out.push_back(in[static_cast<std::size_t>(p)]);
    return out;
  }
  if (type == "Flatten") {
    const std::int64_t a = IntAttr(node, "axis", 1);
    const auto at = static_cast<std::size_t>(a == rank ? rank : Axis(node, a, in.size(), *this));
    return {Product(in, 0, at), Product(in, at)};
  }
  std::vector<std::int64_t> ints;  // Reshape shape, Squeeze / Unsqueeze axes
  if (HasInput(node, 1)) {
    ints = ConstInts(node, 1, type == "Reshape" ? "target shape" : "axes");
  } else if (type == "Reshape") {
    Fail(node, "missing target shape");
  } else {
    ints = IntsAttr(node, "axes", {});
  }
  if (type == "Reshape") {
    Shape out;
    std::int64_t infer = -1;
    for (std::size_t i = 0; i < ints.size(); ++i) {
      if (ints[i] == 0 && i < in.size()) {
        out.push_back(in[i]);
      } else if (ints[i] == -1 && infer < 0) {
        infer = static_cast<std::int64_t>(i);
        out.push_back(1);
      } else if (ints[i] > 0) {
        out.push_back(static_cast<std::uint64_t>(ints[i]));
      } else {
        Fail(node, fmt::format("invalid target shape [{}]", fmt::join(ints, ",")));
      }
    }
    const std::uint64_t known = Product(out), total = Product(in);
    if (infer >= 0) {
      if (known == 0 || total % known != 0) Fail(node, "cannot infer the -1 dimension");
      out[static_cast<std::size_t>(infer)] = total / known;
    }
    if (Product(out) != total) {
      Fail(node, fmt::format("reshape of {} elements [{}] to {} elements [{}]", total,
                             fmt::join(in, ","), Product(out), fmt::join(ints, ",")));
    }
    return out;
  }
  if (type == "Squeeze") {
    std::set<std::int64_t> axes;
    for (std::int64_t a : ints) axes.insert(Axis(node, a, in.size(), *this));
    Shape out;
    for (std::int64_t i = 0; i < rank; ++i) {
      const bool drop = axes.empty() ? in[static_cast<std::size_t>(i)] == 1 : axes.count(i) != 0;
      if (!drop) out.push_back(in[static_cast<std::size_t>(i)]);
    }
    return out;
  }
  // Unsqueeze.
  const std::size_t out_rank = in.size() + ints.size();
  std::set<std::int64_t> axes;
  for (std::int64_t a : ints) axes.insert(Axis(node, a, out_rank, *this));
  Shape out;
  std::size_t j = 0;
  for (std::size_t i = 0; i < out_rank; ++i) {
    if (axes.count(static_cast<std::int64_t>(i))) {
      out.push_back(1);
    } else if (j < in.size()) {
      out.push_back(in[j++]);
    }
  }
  return out;
}

// Numpy broadcast of two shapes.
Shape Importer::Broadcast(const onnx::NodeProto& node, const Shape& a, const Shape& b) const {
  Shape out(std::max(a.size(), b.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const std::uint64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1) {
      Fail(node, fmt::format("shapes [{}] and [{}] do not broadcast", fmt::join(a, ","),
                             fmt::join(b, ",")));
    }
    out[i] = x == 1 ? y : x;
  }
  return out;
}

Importer::Box Importer::FullBox(const Shape& in) const {
  Box box;
  box.first.assign(in.size(), 0);
  box.step.assign(in.size(), 1);
  box.count = in;
  return box;
}

// Slice (opset 10+: starts, ends, axes, steps inputs; before: attributes).
Importer::Box Importer::SliceBox(const onnx::NodeProto& node, const Shape& in) const {
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (HasInput(node, 1)) {
    starts = ConstInts(node, 1, "starts");
    if (!HasInput(node, 2)) Fail(node, "missing ends");
    ends = ConstInts(node, 2, "ends");
    if (HasInput(node, 3)) axes = ConstInts(node, 3, "axes");
    if (HasInput(node, 4)) steps = ConstInts(node, 4, "steps");
  } else {
    starts = IntsAttr(node, "starts", {});
    ends = IntsAttr(node, "ends", {});
    axes = IntsAttr(node, "axes", {});
  }
  if (axes.empty()) {
    for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    Fail(node, "starts, ends, axes and steps differ in length");
  }
  Box box = FullBox(in);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const auto ax = static_cast<std::size_t>(Axis(node, axes[i], in.size(), *this));
    const auto dim = static_cast<std::int64_t>(in[ax]);
    const std::int64_t step = steps[i];
    if (step == 0) Fail(node, "step 0");
    auto clamp = [&](std::int64_t v, std::int64_t lo, std::int64_t hi) {
      if (v < 0) v += dim;
      return std::min(std::max(v, lo), hi);
    };
    const std::int64_t s = step > 0 ? clamp(starts[i], 0, dim) : clamp(starts[i], 0, dim - 1);
    const std::int64_t e = step > 0 ? clamp(ends[i], 0, dim) : clamp(ends[i], -1, dim - 1);
    const std::int64_t n = step > 0 ? (e > s ? (e - s + step - 1) / step : 0)
                                    : (s > e ? (s - e + (-step) - 1) / (-step) : 0);
    box.first[ax] = s;
    box.step[ax] = step;
    box.count[ax] = static_cast<std::uint64_t>(n);
  }
  return box;
}

// The values of `c` in `box` (dims only when c's values are unknown).
Const Importer::Cut(const Const& c, const Box& box) const {
  Const out;
  out.is_float = c.is_float;
  out.dims = box.count;
  if (!c.known || Elements(out.dims) > kMaxFoldedElements) return out;
  out.known = true;
  out.ints.resize(Elements(out.dims));
  std::vector<std::uint64_t> src(c.dims.size());
  for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
    const std::vector<std::uint64_t> idx = Unravel(f, out.dims);
    for (std::size_t i = 0; i < idx.size(); ++i) {
      src[i] = static_cast<std::uint64_t>(box.first[i] +
                                          static_cast<std::int64_t>(idx[i]) * box.step[i]);
    }
    out.ints[f] = c.ints[Ravel(src, c.dims)];
  }
  return out;
}

// Whether `node` is evaluated as a constant: a Constant, the Shape / Size of any tensor,
// or a foldable op whose inputs are all constants (a Gather from a float initializer is
// an embedding lookup, even with constant ids).
bool Importer::Folds(const onnx::NodeProto& node) const {
  const std::string& type = node.op_type();
  if (FoldedOps().count(type) == 0) return false;
  if (type == "Constant" || type == "Shape" || type == "Size") return true;
  if (node.input_size() == 0) return false;
  for (const std::string& in : node.input()) {
    if (!in.empty() && !IsConst(in)) return false;
  }
  return !(type == "Gather" && consts_.at(Input(node, 0)).initializer);
}

void Importer::Fold(const onnx::NodeProto& node) {
  const std::string& type = node.op_type();
  if (node.output_size() < 1) Fail(node, "no outputs");
  auto in = [&](int i) -> const Const& {
    if (!HasInput(node, i)) Fail(node, fmt::format("missing input {}", i));
    return consts_.at(Input(node, i));
  };
  auto with_values = [](Const& c) {
    c.known = Elements(c.dims) <= kMaxFoldedElements;
    if (c.known) c.ints.assign(Elements(c.dims), 0);
  };
  Const out;
  out.is_float = false;
  if (type == "Constant") {
    bool found = false;
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() == "value") {
        out = ConstFromTensor("", a.t());
        out.initializer = false;
      } else if (a.name() == "value_int" || a.name() == "value_ints") {
        out.is_float = false;
        out.known = true;
        if (a.name() == "value_int") {
          out.ints = {a.i()};
        } else {
          out.ints.assign(a.ints().begin(), a.ints().end());
          out.dims = {out.ints.size()};
        }
      } else if (a.name() == "value_float" || a.name() == "value_floats") {
        out.is_float = true;
        if (a.name() == "value_floats") out.dims = {static_cast<std::uint64_t>(a.floats_size())};
      } else {
        continue;
      }
      found = true;
    }
    if (!found) Fail(node, "only tensor, int and float constants are supported");
  } else if (type == "ConstantOfShape") {
    for (std::int64_t d : ConstInts(node, 0, "shape")) {
      if (d < 0) Fail(node, "negative dimension");
      out.dims.push_back(static_cast<std::uint64_t>(d));
    }
    std::int64_t fill = 0;
    out.is_float = true;
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() != "value") continue;
      out.is_float = !IsIntType(a.t().data_type());
      const std::vector<std::int64_t> v = IntData(a.t());
      if (!v.empty()) fill = v[0];
    }
    if (!out.is_float) {
      with_values(out);
      std::fill(out.ints.begin(), out.ints.end(), fill);
    }
  } else if (type == "Shape" || type == "Size") {
    const Shape dims = DimsOf(node, Input(node, 0));
    out.known = true;
    if (type == "Size") {
      out.ints = {static_cast<std::int64_t>(Elements(dims))};
    } else {
      const auto rank = static_cast<std::int64_t>(dims.size());
      auto at = [&](std::int64_t v) {
        return std::clamp(v < 0 ? v + rank : v, std::int64_t{0}, rank);
      };
      const std::int64_t start = at(IntAttr(node, "start", 0));
      const std::int64_t end = at(IntAttr(node, "end", rank));
      for (std::int64_t i = start; i < end; ++i) {
        out.ints.push_back(static_cast<std::int64_t>(dims[static_cast<std::size_t>(i)]));
      }
      out.dims = {out.ints.size()};
    }
  } else if (LayoutOps().count(type)) {
    const Const& x = in(0);
    out = x;
    out.dims = LayoutShape(node, x.dims);
    if (type == "Transpose") {
      const std::vector<std::int64_t> perm = Perm(node, x.dims.size());
      if (perm.size() == 2 && perm[0] == 1) out.transposed = !x.transposed;
      if (x.known) {
        for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
          const std::vector<std::uint64_t> idx = Unravel(f, out.dims);
          std::vector<std::uint64_t> src(idx.size());
          for (std::size_t i = 0; i < idx.size(); ++i) {
            src[static_cast<std::size_t>(perm[i])] = idx[i];
          }
          out.ints[f] = x.ints[Ravel(src, x.dims)];
        }
      }
    } else if (type == "Cast") {
      const bool to_float = !IsIntType(static_cast<int>(IntAttr(node, "to", 1)));
      if (!to_float) out.initializer = false;
      out.is_float = to_float;
    }
  } else if (type == "Gather") {
    const Const& data = in(0);
    const Const& idx = in(1);
    if (data.dims.empty()) Fail(node, "gather from a scalar");
    const auto axis =
        static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), data.dims.size(), *this));
    out.is_float = data.is_float;
    out.dims.assign(data.dims.begin(), data.dims.begin() + static_cast<std::ptrdiff_t>(axis));
    out.dims.insert(out.dims.end(), idx.dims.begin(), idx.dims.end());
    out.dims.insert(out.dims.end(), data.dims.begin() + static_cast<std::ptrdiff_t>(axis) + 1,
                    data.dims.end());
    if (data.known && idx.known) {
      with_values(out);
      for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
        const std::vector<std::uint64_t> o = Unravel(f, out.dims);
        std::vector<std::uint64_t> src(o.begin(), o.begin() + static_cast<std::ptrdiff_t>(axis));
        const std::vector<std::uint64_t> ii(
            o.begin() + static_cast<std::ptrdiff_t>(axis),
            o.begin() + static_cast<std::ptrdiff_t>(axis + idx.dims.size()));
        std::int64_t k = idx.ints[Ravel(ii, idx.dims)];
        const auto dim = static_cast<std::int64_t>(data.dims[axis]);
        if (k < 0) k += dim;
        if (k < 0 || k >= dim) Fail(node, fmt::format("index {} out of range", k));
        src.push_back(static_cast<std::uint64_t>(k));
        src.insert(src.end(), o.begin() + static_cast<std::ptrdiff_t>(axis + idx.dims.size()),
                   o.end());
        out.ints[f] = data.ints[Ravel(src, data.dims)];
      }
    }
  } else if (type == "Concat") {
    const Const& first = in(0);
    if (first.dims.empty()) Fail(node, "concatenation of scalars");
    const auto axis =
        static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), first.dims.size(), *this));
    out.is_float = first.is_float;
    out.dims = first.dims;
    out.dims[axis] = 0;
    bool known = true;
    for (int i = 0; i < node.input_size(); ++i) {
      const Const& c = in(i);
      if (c.dims.size() != first.dims.size()) Fail(node, "inputs differ in rank");
      out.dims[axis] += c.dims[axis];
      known = known && c.known;
    }
    if (known) {
      with_values(out);
      for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
        std::vector<std::uint64_t> o = Unravel(f, out.dims);
        for (int i = 0; i < node.input_size(); ++i) {
          const Const& c = in(i);
          if (o[axis] < c.dims[axis]) {
            out.ints[f] = c.ints[Ravel(o, c.dims)];
            break;
          }
          o[axis] -= c.dims[axis];
        }
      }
    }
  } else if (type == "Slice") {
    out = Cut(in(0), SliceBox(node, in(0).dims));
  } else if (type == "Split") {
    const Const& x = in(0);
    const auto axis =
        static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), x.dims.size(), *this));
    std::vector<std::int64_t> sizes =
        HasInput(node, 1) ? ConstInts(node, 1, "split") : IntsAttr(node, "split", {});
    if (sizes.empty()) {
      const auto parts = static_cast<std::uint64_t>(node.output_size());
      const std::uint64_t each = (x.dims[axis] + parts - 1) / parts;
      for (std::uint64_t left = x.dims[axis]; left > 0; left -= std::min(left, each)) {
        sizes.push_back(static_cast<std::int64_t>(std::min(left, each)));
      }
    }
    if (sizes.size() != static_cast<std::size_t>(node.output_size())) {
      Fail(node, "split sizes do not match the outputs");
    }
    std::int64_t offset = 0;
    for (int o = 0; o < node.output_size(); ++o) {
      Box box = FullBox(x.dims);
      box.first[axis] = offset;
      box.count[axis] = static_cast<std::uint64_t>(sizes[static_cast<std::size_t>(o)]);
      offset += sizes[static_cast<std::size_t>(o)];
      consts_[Output(node, o)] = Cut(x, box);
    }
    if (static_cast<std::uint64_t>(offset) != x.dims[axis]) Fail(node, "split sizes do not add up");
    return;
  } else if (type == "Range") {
    const Const &start = in(0), &limit = in(1), &delta = in(2);
    if (!start.known || !limit.known || !delta.known || start.ints.size() != 1 ||
        limit.ints.size() != 1 || delta.ints.size() != 1) {
      Fail(node, "its start, limit and delta cannot be resolved statically");
    }
    const std::int64_t s = start.ints[0], l = limit.ints[0], d = delta.ints[0];
    if (d == 0) Fail(node, "delta 0");
    const std::int64_t n =
        std::max<std::int64_t>(0, d > 0 ? (l - s + d - 1) / d : (s - l - d - 1) / -d);
    out.is_float = start.is_float;
    out.dims = {static_cast<std::uint64_t>(n)};
    with_values(out);
    for (std::int64_t i = 0; out.known && i < n; ++i)
      out.ints[static_cast<std::size_t>(i)] = s + i * d;
  } else if (type == "Expand") {
    const Const& x = in(0);
    Shape target;
    for (std::int64_t d : ConstInts(node, 1, "shape")) {
      if (d < 0) Fail(node, "negative dimension");
      target.push_back(static_cast<std::uint64_t>(d));
    }
    out.is_float = x.is_float;
    out.dims = Broadcast(node, x.dims, target);
    if (x.known && Elements(out.dims) <= kMaxFoldedElements) {
      out.known = true;
      out.ints = BroadcastTo(x, out.dims);
    }
  } else if (type == "Where") {
    const Const &cond = in(0), &x = in(1), &y = in(2);
    out.is_float = x.is_float;
    out.dims = Broadcast(node, Broadcast(node, cond.dims, x.dims), y.dims);
    if (cond.known && x.known && y.known && Elements(out.dims) <= kMaxFoldedElements) {
      const std::vector<std::int64_t> c = BroadcastTo(cond, out.dims), a = BroadcastTo(x, out.dims),
                                      b = BroadcastTo(y, out.dims);
      out.known = true;
      out.ints.resize(c.size());
      for (std::size_t i = 0; i < c.size(); ++i) out.ints[i] = c[i] ? a[i] : b[i];
    }
  } else if (node.input_size() == 1) {  // Not, Neg, Abs, Sqrt, Floor, Ceil
    out = in(0);
    out.source.clear();
    out.initializer = false;
    out.transposed = false;
    for (std::size_t i = 0; out.known && i < out.ints.size(); ++i) {
      std::int64_t& v = out.ints[i];
      if (v == std::numeric_limits<std::int64_t>::min()) {
        out.known = false;
      } else if (type == "Not") {
        v = v == 0;
      } else if (type == "Neg") {
        v = -v;
      } else if (type == "Abs") {
        v = v < 0 ? -v : v;
      } else if (type == "Sqrt") {
        const auto r = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(v))));
        if (v < 0 || r * r != v) out.known = false;  // not an integer: value unknown
        v = r;
      }
    }
    if (!out.known) out.ints.clear();
    if (type == "Sqrt") out.is_float = true;
  } else {  // binary: Equal, Less, Greater, And, Or, Add, Sub, Mul, Div, Mod, Pow, Max, Min
    Const acc = in(0);
    for (int k = 1; k < node.input_size(); ++k) {
      const Const& b = in(k);
      Const r;
      const bool compare =
          type == "Equal" || type == "Less" || type == "Greater" || type == "And" || type == "Or";
      r.is_float = compare ? false : acc.is_float;
      r.dims = Broadcast(node, acc.dims, b.dims);
      if (acc.known && b.known && Elements(r.dims) <= kMaxFoldedElements) {
        const std::vector<std::int64_t> x = BroadcastTo(acc, r.dims), y = BroadcastTo(b, r.dims);
        r.known = true;
        r.ints.resize(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
          const std::int64_t p = x[i], q = y[i];
          std::int64_t& v = r.ints[i];
          if (type == "Equal") v = p == q;
          if (type == "Less") v = p < q;
          if (type == "Greater") v = p > q;
          if (type == "And") v = p && q;
          if (type == "Or") v = p || q;
          bool overflow = false;
          if (type == "Add") overflow = __builtin_add_overflow(p, q, &v);
          if (type == "Sub") overflow = __builtin_sub_overflow(p, q, &v);
          if (type == "Mul") overflow = __builtin_mul_overflow(p, q, &v);
          if (overflow) r.known = false;
          if (type == "Max") v = std::max(p, q);
          if (type == "Min") v = std::min(p, q);
          if (type == "Div" || type == "Mod") {
            if (q == 0) Fail(node, "division by zero");
            if (type == "Div" && r.is_float && p % q != 0) r.known = false;
            v = type == "Div" ? p / q : p % q;
          }
          if (type == "Pow") {
            v = 1;
            if (q < 0 || q > 62) r.known = false;
            for (std::int64_t e = 0; r.known && e < q; ++e) {
              if (__builtin_mul_overflow(v, p, &v)) r.known = false;
            }
          }
        }
        if (!r.known) r.ints.clear();
      }
      acc = std::move(r);
    }
    out = std::move(acc);
  }
  if (out.known && out.ints.size() != Elements(out.dims)) {
    out.known = false;
    out.ints.clear();
  }
  consts_[Output(node, 0)] = std::move(out);
}

}  // namespace systole::onnx_importer
