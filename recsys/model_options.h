// Typed, named fields of a model's options struct, so that one table per model gives the zoo (recsys/zoo.h)
// everything it needs: parsing "name=value" settings from the command line, printing the defaults in the help
// text, and describing a configured model. The struct stays the single source of each default.
//
//   static std::vector<OptionField<SASRecOptions>> option_fields() {
//     return {{"hidden", "width of every layer", &SASRecOptions::hidden}, ...};
//   }
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"

namespace recgrad::recsys {

/// One option of `Options`: its name in settings, a short help text, and the member it sets.
template <typename Options>
struct OptionField {
  const char* name;
  const char* help;
  std::variant<std::int64_t Options::*, double Options::*, std::string Options::*> member;
};

/// "name=value" settings of one model, as given on the command line.
using ModelSettings = std::map<std::string, std::string>;

namespace option_parsing {

/// The number in `text`, the whole of it; throws naming the model and option otherwise.
template <typename Number>
Number parse_number(const std::string& model, const std::string& option, const std::string& text) {
  std::size_t used = 0;
  Number value{};
  try {
    if constexpr (std::is_integral_v<Number>) {
      value = static_cast<Number>(std::stoll(text, &used));
    } else {
      value = std::stod(text, &used);
    }
  } catch (const std::exception&) {
    used = 0;
  }
  RG_CHECK(used == text.size() && !text.empty(), model, ": option ", option, " expects ",
           std::is_integral_v<Number> ? "an integer" : "a number", ", got '", text, "'");
  return value;
}

}  // namespace option_parsing

/// `defaults` with every setting applied; throws for an unknown option (listing the known ones) or a bad value.
template <typename Options>
Options apply_settings(const std::string& model, Options defaults, const std::vector<OptionField<Options>>& fields,
                       const ModelSettings& settings) {
  for (const auto& [key, text] : settings) {
    const OptionField<Options>* field = nullptr;
    for (const auto& f : fields) {
      if (key == f.name) field = &f;
    }
    if (field == nullptr) {
      std::string known;
      for (const auto& f : fields) known += std::string(known.empty() ? "" : ", ") + f.name;
      throw Error(recgrad::detail::concat(model, ": unknown option '", key, "' (known: ", known, ")"));
    }
    std::visit(
        [&]<typename Value>(Value Options::*member) {
          if constexpr (std::is_same_v<Value, std::string>) {
            defaults.*member = text;  // a path or a name: taken as given
          } else {
            defaults.*member = option_parsing::parse_number<Value>(model, key, text);
          }
        },
        field->member);
  }
  return defaults;
}

/// "name=value name=value ..." for every field of `options`.
template <typename Options>
std::string options_text(const Options& options, const std::vector<OptionField<Options>>& fields) {
  std::ostringstream out;
  for (const auto& field : fields) {
    if (&field != &fields.front()) out << ' ';
    out << field.name << '=';
    std::visit([&](auto member) { out << options.*member; }, field.member);
  }
  return out.str();
}

/// One line per field: "  name (default value): help".
template <typename Options>
std::string options_help(const Options& defaults, const std::vector<OptionField<Options>>& fields) {
  std::ostringstream out;
  for (const auto& field : fields) {
    out << "  " << field.name << " (";
    std::visit([&](auto member) { out << defaults.*member; }, field.member);
    out << "): " << field.help << "\n";
  }
  return out.str();
}

}  // namespace recgrad::recsys
