#include "services/cli/args.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mlops::cli {

absl::StatusOr<CommandArgs> ParseCommandArgs(const std::vector<std::string>& args,
                                             const std::vector<std::string>& allowed,
                                             const std::vector<std::string>& takes_value) {
  CommandArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      parsed.positional.push_back(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown option --", key,
          allowed.empty() ? " (this command takes none)"
                          : absl::StrCat(" (options: --", absl::StrJoin(allowed, ", --"), ")")));
    }
    const bool needs_value =
        std::find(takes_value.begin(), takes_value.end(), key) != takes_value.end();
    if (eq == std::string::npos && needs_value) {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("--", key, " needs a value"));
      }
      parsed.options[key] = args[++i];
      continue;
    }
    parsed.options[key] = eq == std::string::npos ? "" : arg.substr(eq + 1);
  }
  return parsed;
}

std::string OptionOr(const CommandArgs& args, const std::string& name, const std::string& fallback) {
  auto it = args.options.find(name);
  return it == args.options.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> PositiveIntOption(const CommandArgs& args, const std::string& name,
                                          int64_t fallback) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(it->second, &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected a positive integer, got \"", it->second, "\""));
  }
  return value;
}

absl::StatusOr<absl::Duration> DurationOption(const CommandArgs& args, const std::string& name,
                                              absl::Duration fallback) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return fallback;
  absl::Duration duration;
  if (!absl::ParseDuration(it->second, &duration) || duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected a duration such as 30s or 2m, got \"", it->second,
                     "\""));
  }
  return duration;
}

absl::StatusOr<int> EnumOption(const CommandArgs& args, const std::string& name, const std::string& prefix,
                               const google::protobuf::EnumDescriptor* descriptor) {
  const std::string text = OptionOr(args, name, "");
  std::vector<std::string> words;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor* value = descriptor->value(i);
    if (value->number() == 0 || value->name().rfind(prefix, 0) != 0) continue;
    const std::string word = absl::AsciiStrToLower(value->name().substr(prefix.size()));
    if (word == absl::AsciiStrToLower(text)) return value->number();
    words.push_back(word);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", name, " must be one of ", absl::StrJoin(words, ", "), ", not \"", text, "\""));
}

}  // namespace mlops::cli
