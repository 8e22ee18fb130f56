#include "datasets/unicode_categories.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <span>

namespace recgrad::datasets::unicode {
namespace {

struct CodeRange {
  char32_t first, last;
};
struct ClassRange {
  char32_t first, last;
  std::uint8_t ccc;
};
struct Decomposition {
  char32_t code;
  std::uint16_t offset;  // into kDecompositionData
  std::uint8_t length;
};
struct Composition {
  char32_t first, second, composite;
};

#include "datasets/unicode_categories.inc"

// Hangul syllables decompose and compose arithmetically (Unicode chapter 3.12).
constexpr char32_t kHangulBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr char32_t kLeadCount = 19, kVowelCount = 21, kTrailCount = 28;
constexpr char32_t kVowelTrailCount = kVowelCount * kTrailCount, kHangulCount = kLeadCount * kVowelTrailCount;

bool in_ranges(std::span<const CodeRange> table, char32_t code) {
  auto it = std::upper_bound(table.begin(), table.end(), code,
                             [](char32_t c, const CodeRange& range) { return c < range.first; });
  return it != table.begin() && code <= std::prev(it)->last;
}

// Appends the full canonical decomposition of `code` to `out`.
void decompose(char32_t code, std::u32string& out) {
  if (code >= kHangulBase && code < kHangulBase + kHangulCount) {
    const char32_t index = code - kHangulBase;
    out.push_back(kLeadBase + index / kVowelTrailCount);
    out.push_back(kVowelBase + index % kVowelTrailCount / kTrailCount);
    if (index % kTrailCount != 0) out.push_back(kTrailBase + index % kTrailCount);
    return;
  }
  const auto* end = std::end(kDecompositions);
  const auto* it = std::lower_bound(std::begin(kDecompositions), end, code,
                                    [](const Decomposition& d, char32_t c) { return d.code < c; });
  if (it == end || it->code != code) {
    out.push_back(code);
    return;
  }
  out.append(kDecompositionData + it->offset, it->length);
}

// The primary composite of the pair (first, second), or 0 when they do not compose.
char32_t compose(char32_t first, char32_t second) {
  if (first >= kLeadBase && first < kLeadBase + kLeadCount && second >= kVowelBase &&
      second < kVowelBase + kVowelCount) {
    return kHangulBase + ((first - kLeadBase) * kVowelCount + (second - kVowelBase)) * kTrailCount;
  }
  if (first >= kHangulBase && first < kHangulBase + kHangulCount && (first - kHangulBase) % kTrailCount == 0 &&
      second > kTrailBase && second < kTrailBase + kTrailCount) {
    return first + (second - kTrailBase);
  }
  const auto* end = std::end(kCompositions);
  const auto* it = std::lower_bound(std::begin(kCompositions), end, Composition{first, second, 0},
                                    [](const Composition& a, const Composition& b) {
                                      return a.first != b.first ? a.first < b.first : a.second < b.second;
                                    });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

}  // namespace

const char* tables_version() { return kUnicodeVersion; }

bool is_letter(char32_t code) { return in_ranges(kLetterRanges, code); }

bool is_number(char32_t code) { return in_ranges(kNumberRanges, code); }

bool is_white_space(char32_t code) { return in_ranges(kWhiteSpaceRanges, code); }

int combining_class(char32_t code) {
  auto it = std::upper_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), code,
                             [](char32_t c, const ClassRange& range) { return c < range.first; });
  return it != std::begin(kCombiningClasses) && code <= std::prev(it)->last ? std::prev(it)->ccc : 0;
}

std::u32string nfc(std::u32string_view text) {
  // Below U+0300 every code point is a starter without a decomposition that nothing composes with.
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; })) return std::u32string(text);

  std::u32string decomposed;
  decomposed.reserve(text.size());
  for (const char32_t code : text) decompose(code, decomposed);

  // Canonical ordering: each run of non-starters is sorted stably by combining class.
  for (std::size_t i = 0; i < decomposed.size();) {
    if (combining_class(decomposed[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < decomposed.size() && combining_class(decomposed[end]) != 0) ++end;
    std::stable_sort(decomposed.begin() + static_cast<std::ptrdiff_t>(i),
                     decomposed.begin() + static_cast<std::ptrdiff_t>(end),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = end;
  }

  // Canonical composition: a character joins the last starter unless a character between them blocks it
  // (has class 0, or a class not below its own).
  std::u32string out;
  out.reserve(decomposed.size());
  std::size_t starter = std::u32string::npos;
  int last_class = 0;  // class of the last character appended after the starter
  for (const char32_t code : decomposed) {
    const int ccc = combining_class(code);
    if (starter != std::u32string::npos && (out.size() == starter + 1 || last_class < ccc)) {
      if (const char32_t composite = compose(out[starter], code)) {
        out[starter] = composite;
        continue;
      }
    }
    if (ccc == 0) starter = out.size();
    last_class = ccc;
    out.push_back(code);
  }
  return out;
}

}  // namespace recgrad::datasets::unicode
