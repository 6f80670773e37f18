#pragma once
// Debian's Abseil is built with its own absl::string_view (not
// std::string_view), so absl::StrCat does not take std::string_view. Wrap
// with Av() where one is passed to absl.

#include <string_view>

#include "absl/strings/string_view.h"

namespace mlops::features {

inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace mlops::features
