#include "core/cpu/index.h"

#include <cstring>
#include <vector>

#include "core/cpu/parallel.h"
#include "core/plans/index.h"

namespace recgrad::cpu {
namespace {

// Calls fn(n, offset_a, offset_b) for the elements n in [begin, end) of `shape`
// (row-major), with the offsets of that element in two views of `shape`.
template <typename Fn>
void walk_range(const Shape& shape, const Strides& strides_a, const Strides& strides_b, std::int64_t begin,
                std::int64_t end, Fn&& fn) {
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> position(rank, 0);
  std::int64_t off_a = 0, off_b = 0, rest = begin;
  for (std::size_t d = rank; d-- > 0;) {
    position[d] = rest % shape[d];
    rest /= shape[d];
    off_a += position[d] * strides_a[d];
    off_b += position[d] * strides_b[d];
  }
  for (std::int64_t n = begin; n < end; ++n) {
    fn(n, off_a, off_b);
    for (std::size_t d = rank; d-- > 0;) {
      if (++position[d] < shape[d]) {
        off_a += strides_a[d];
        off_b += strides_b[d];
        break;
      }
      off_a -= strides_a[d] * (shape[d] - 1);
      off_b -= strides_b[d] * (shape[d] - 1);
      position[d] = 0;
    }
  }
}

// The rows (all dims but the last) of an index-shaped walk over two views a
// and b: run(begin, end, fn) calls fn(row, offset_a, offset_b) for each row;
// the row's elements then sit at steps step_a / step_b.
struct RowWalk {
  Shape lead;
  Strides lead_a, lead_b;
  std::int64_t inner = 1, rows = 1, step_a = 0, step_b = 0;
  RowWalk(const Shape& shape, const Strides& a, const Strides& b) {
    if (shape.empty()) return;  // a 0-d index: one row of one element
    lead.assign(shape.begin(), shape.end() - 1);
    lead_a.assign(a.begin(), a.end() - 1);
    lead_b.assign(b.begin(), b.end() - 1);
    inner = shape.back();
    step_a = a.back();
    step_b = b.back();
    rows = inner == 0 ? 0 : numel_of(shape) / inner;
  }
  template <typename Fn>
  void run(std::int64_t begin, std::int64_t end, Fn&& fn) const {
    if (begin < end) walk_range(lead, lead_a, lead_b, begin, end, fn);
  }
};

// dst[b, ids[i], :] += src[b, i, :] for dense dst [outer, extent, inner] and
// src [outer, count, inner], skipping i whose index equals `skip`. Parallel
// over b (outer > 1) or over columns of the inner block, never over i, so the
// additions into one element happen in index order.
template <typename T, typename I>
void index_add_kernel(T* dst, const T* src, const I* ids, raw::DimSplit s, std::int64_t count, std::int64_t skip) {
  const std::int64_t inner = s.inner;
  auto add_columns = [&](std::int64_t b, std::int64_t c0, std::int64_t c1) {
    for (std::int64_t i = 0; i < count; ++i) {
      if (ids[i] == skip) continue;
      T* out_row = dst + (b * s.extent + ids[i]) * inner;
      const T* in_row = src + (b * count + i) * inner;
      for (std::int64_t c = c0; c < c1; ++c) out_row[c] += in_row[c];
    }
  };
  if (s.outer > 1) {
    cpu::parallel_for(s.outer, count * inner, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t b = begin; b < end; ++b) add_columns(b, 0, inner);
    });
  } else {
    cpu::parallel_for(inner, count, [&](std::int64_t c0, std::int64_t c1) { add_columns(0, c0, c1); });
  }
}

}  // namespace

Tensor index_select(const Tensor& src, int dim, const Tensor& index) {
  const raw::DimSplit s = raw::split_at(src.shape(), dim);
  Shape out_shape = src.shape();
  out_shape[dim] = index.numel();
  Tensor out = Tensor::empty(out_shape, src.dtype(), src.device());
  const std::int64_t count = index.numel(), inner = s.inner;
  visit_index(index.dtype(), "index_select", [&]<typename I>(I) {
    const I* ids = index.data<I>();
    const std::size_t row_bytes = static_cast<std::size_t>(inner) * element_size(src.dtype());
    const auto* in = static_cast<const char*>(src.raw_data());
    auto* o = static_cast<char*>(out.raw_data());
    // Row (b, i) of the output is row (b, ids[i]) of the input: one memcpy each.
    cpu::parallel_for(s.outer * count, inner, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const std::int64_t b = r / count, i = r % count;
        std::memcpy(o + r * row_bytes, in + (b * s.extent + ids[i]) * row_bytes, row_bytes);
      }
    });
  });
  return out;
}

void index_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src, std::int64_t skip, const char* op) {
  const raw::DimSplit s = raw::split_at(dst.dim() == 0 ? Shape{1} : dst.shape(), dim);
  visit_index(index.dtype(), op, [&]<typename I>(I) {
    visit_numeric(dst.dtype(), op, [&]<typename T>(T) {
      index_add_kernel<T, I>(dst.data<T>(), src.data<T>(), index.data<I>(), s, index.numel(), skip);
    });
  });
}

void cat_into(const Tensor& out, const std::vector<Tensor>& inputs, int dim) {
  // out is [outer, out_extent * inner]; a dense input is [outer, extent * inner]
  // and lands in a column block of it: one memcpy per outer row.
  const raw::DimSplit out_split = raw::split_at(out.shape(), dim);
  const std::size_t elem = element_size(out.dtype());
  const std::size_t out_row_bytes = static_cast<std::size_t>(out_split.extent * out_split.inner) * elem;
  std::int64_t start = 0;
  for (const Tensor& t : inputs) {
    const std::int64_t extent = t.shape()[dim];
    if (extent > 0 && t.is_contiguous()) {
      const std::size_t row_bytes = static_cast<std::size_t>(extent * out_split.inner) * elem;
      const std::size_t column = static_cast<std::size_t>(start * out_split.inner) * elem;
      const auto* in = static_cast<const char*>(t.raw_data());
      auto* o = static_cast<char*>(out.raw_data());
      cpu::parallel_for(out_split.outer, extent * out_split.inner, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
          std::memcpy(o + r * out_row_bytes + column, in + r * row_bytes, row_bytes);
      });
    }
    start += extent;
  }
}

void gather(const Tensor& out, const Tensor& x, int dim, const Tensor& index) {
  // x's strides with dimension d's removed: the index value supplies that coordinate.
  Strides x_strides = x.strides();
  const std::int64_t dim_stride = x_strides[dim];
  x_strides[dim] = 0;
  const Strides out_strides = out.strides();
  visit_index(index.dtype(), "gather", [&]<typename I>(I) {
    const I* ids = index.data<I>();
    visit_dtype(x.dtype(), [&]<typename T>(T) {
      const T* in = x.data<T>();
      T* o = out.data<T>();
      const RowWalk walk(index.shape(), x_strides, out_strides);
      cpu::parallel_for(walk.rows, walk.inner, [&](std::int64_t begin, std::int64_t end) {
        walk.run(begin, end, [&](std::int64_t row, std::int64_t xo, std::int64_t oo) {
          const I* row_ids = ids + row * walk.inner;
          for (std::int64_t j = 0; j < walk.inner; ++j) {
            o[oo + j * walk.step_b] = in[xo + j * walk.step_a + static_cast<std::int64_t>(row_ids[j]) * dim_stride];
          }
        });
      });
    });
  });
}

void scatter_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src) {
  Strides dst_strides = dst.strides();
  const std::int64_t dim_stride = dst.dim() == 0 ? 0 : dst_strides[dim];
  if (dst.dim() > 0) dst_strides[dim] = 0;
  visit_index(index.dtype(), "scatter_add", [&]<typename I>(I) {
    const I* ids = index.data<I>();
    visit_numeric(dst.dtype(), "scatter_add", [&]<typename T>(T) {
      T* o = dst.data<T>();
      const T* in = src.data<T>();
      // Serial, in row-major index order: repeated indices add up deterministically.
      const RowWalk walk(index.shape(), dst_strides, src.strides());
      walk.run(0, walk.rows, [&](std::int64_t row, std::int64_t dst_off, std::int64_t src_off) {
        const I* row_ids = ids + row * walk.inner;
        for (std::int64_t j = 0; j < walk.inner; ++j) {
          o[dst_off + j * walk.step_a + static_cast<std::int64_t>(row_ids[j]) * dim_stride] +=
              in[src_off + j * walk.step_b];
        }
      });
    });
  });
}

}  // namespace recgrad::cpu
