#include "services/gateway/flat_forest.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace mlops::gateway {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Field(const Struct& s, const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

absl::StatusOr<const Struct*> Object(const Struct& s, const char* name) {
  const Value* v = Field(s, name);
  if (v == nullptr || !v->has_struct_value()) {
    return absl::InvalidArgumentError(absl::StrCat("model JSON: \"", name, "\" is not an object"));
  }
  return &v->struct_value();
}

absl::StatusOr<const ListValue*> List(const Struct& s, const char* name) {
  const Value* v = Field(s, name);
  if (v == nullptr || !v->has_list_value()) {
    return absl::InvalidArgumentError(absl::StrCat("model JSON: \"", name, "\" is not a list"));
  }
  return &v->list_value();
}

// A string field ("5E-1", "30": XGBoost writes parameters as strings).
std::string Text(const Struct& s, const char* name) {
  const Value* v = Field(s, name);
  return v != nullptr && v->has_string_value() ? v->string_value() : "";
}

double Number(const Value& v) { return v.has_bool_value() ? (v.bool_value() ? 1 : 0) : v.number_value(); }

}  // namespace

absl::StatusOr<FlatForest> FlatForest::FromModelJson(const std::string& json) {
  Struct root;
  if (!google::protobuf::util::JsonStringToMessage(json, &root).ok()) {
    return absl::InvalidArgumentError("model JSON: does not parse");
  }
  absl::StatusOr<const Struct*> learner = Object(root, "learner");
  if (!learner.ok()) return learner.status();
  absl::StatusOr<const Struct*> booster = Object(**learner, "gradient_booster");
  absl::StatusOr<const Struct*> params = Object(**learner, "learner_model_param");
  absl::StatusOr<const Struct*> objective = Object(**learner, "objective");
  if (!booster.ok()) return booster.status();
  if (!params.ok()) return params.status();
  if (!objective.ok()) return objective.status();
  if (Text(**booster, "name") != "gbtree") {
    return absl::UnimplementedError(absl::StrCat("booster \"", Text(**booster, "name"), "\""));
  }
  FlatForest f;
  f.num_features_ = std::strtoul(Text(**params, "num_feature").c_str(), nullptr, 10);
  const int num_class = std::atoi(Text(**params, "num_class").c_str());
  const float base_score = std::strtof(Text(**params, "base_score").c_str(), nullptr);
  const std::string obj = Text(**objective, "name");
  if (obj == "reg:squarederror") {
    f.base_margin_ = base_score;
  } else if (obj == "binary:logistic" || obj == "reg:logistic" || obj == "binary:logitraw") {
    f.base_margin_ = -std::log(1.0f / base_score - 1.0f);  // ProbToMargin, in float
    f.transform_ = obj == "binary:logitraw" ? Transform::kIdentity : Transform::kSigmoid;
  } else if (obj == "multi:softprob" && num_class > 1) {
    f.base_margin_ = base_score;
    f.transform_ = Transform::kSoftmax;
    f.num_outputs_ = static_cast<std::size_t>(num_class);
  } else {
    return absl::UnimplementedError(absl::StrCat("objective \"", obj, "\""));
  }
  absl::StatusOr<const Struct*> model = Object(**booster, "model");
  if (!model.ok()) return model.status();
  absl::StatusOr<const ListValue*> trees = List(**model, "trees");
  absl::StatusOr<const ListValue*> info = List(**model, "tree_info");
  if (!trees.ok()) return trees.status();
  if (!info.ok()) return info.status();
  if ((*trees)->values_size() != (*info)->values_size()) {
    return absl::InvalidArgumentError("model JSON: trees and tree_info differ in length");
  }
  for (int t = 0; t < (*trees)->values_size(); ++t) {
    const Struct& tree = (*trees)->values(t).struct_value();
    const int group = static_cast<int>(Number((*info)->values(t)));
    if (group < 0 || static_cast<std::size_t>(group) >= f.num_outputs_) {
      return absl::InvalidArgumentError(absl::StrCat("tree ", t, ": output group ", group));
    }
    const char* const kArrays[] = {"left_children", "right_children", "split_indices",
                                   "split_conditions", "default_left", "split_type"};
    const ListValue* a[6];
    for (int i = 0; i < 6; ++i) {
      absl::StatusOr<const ListValue*> l = List(tree, kArrays[i]);
      if (!l.ok()) return l.status();
      a[i] = *l;
      if (a[i]->values_size() != a[0]->values_size() || a[i]->values_size() == 0) {
        return absl::InvalidArgumentError(absl::StrCat("tree ", t, ": node arrays differ in length"));
      }
    }
    const int32_t base = static_cast<int32_t>(f.nodes_.size());
    const int n = a[0]->values_size();
    for (int i = 0; i < n; ++i) {
      if (Number(a[5]->values(i)) != 0) return absl::UnimplementedError("categorical splits");
      const int left = static_cast<int>(Number(a[0]->values(i)));
      const int right = static_cast<int>(Number(a[1]->values(i)));
      Node node{static_cast<float>(Number(a[3]->values(i))), -1, 0, 0, 0};
      if (left != -1) {
        const double feature = Number(a[2]->values(i));
        if (left <= 0 || left >= n || right <= 0 || right >= n || feature < 0 ||
            feature >= static_cast<double>(f.num_features_)) {
          return absl::InvalidArgumentError(absl::StrCat("tree ", t, ", node ", i, ": bad split"));
        }
        node.feature = static_cast<int32_t>(feature);
        node.left = base + left;
        node.right = base + right;
        node.missing = Number(a[4]->values(i)) != 0 ? node.left : node.right;
      }
      f.nodes_.push_back(node);
    }
    f.roots_.push_back(base);
    f.groups_.push_back(group);
  }
  return f;
}

void FlatForest::PredictRow(const float* x, float* out) const {
  for (std::size_t g = 0; g < num_outputs_; ++g) out[g] = base_margin_;
  const Node* nodes = nodes_.data();
  for (std::size_t t = 0; t < roots_.size(); ++t) {
    const Node* n = nodes + roots_[t];
    while (n->feature >= 0) {
      const float v = x[n->feature];
      n = nodes + (std::isnan(v) ? n->missing : v < n->value ? n->left : n->right);
    }
    out[groups_[t]] += n->value;
  }
  switch (transform_) {
    case Transform::kIdentity:
      break;
    case Transform::kSigmoid:
      out[0] = 1.0f / (1.0f + std::exp(-out[0]));
      break;
    case Transform::kSoftmax: {  // XGBoost's common::Softmax
      float wmax = out[0];
      for (std::size_t g = 1; g < num_outputs_; ++g) wmax = std::fmax(out[g], wmax);
      double wsum = 0;
      for (std::size_t g = 0; g < num_outputs_; ++g) {
        out[g] = std::exp(out[g] - wmax);
        wsum += out[g];
      }
      for (std::size_t g = 0; g < num_outputs_; ++g) out[g] /= static_cast<float>(wsum);
      break;
    }
  }
}

absl::StatusOr<xgb::Prediction> FlatForest::Predict(const float* values, std::size_t rows,
                                                    std::size_t cols) const {
  if (cols != num_features_) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model takes ", num_features_, " features, got ", cols));
  }
  xgb::Prediction p;
  p.rows = rows;
  p.outputs = num_outputs_;
  p.values.resize(rows * num_outputs_);
  for (std::size_t r = 0; r < rows; ++r) PredictRow(values + r * cols, p.values.data() + r * num_outputs_);
  return p;
}

}  // namespace mlops::gateway
