# METADATA
# title: PrometheusRule that Prometheus or the operator's webhook would reject
# description: |
#   Reports prometheus-operator `PrometheusRule`s with mistakes that make the rule file
#   invalid, checked on their structure: the operator's admission webhook refuses such an
#   object, and without the webhook the operator leaves it out of the generated
#   configuration (or Prometheus fails to reload it), so none of its alerts fire. Checked,
#   one finding per mistake:
#
#   - a rule with both `alert` and `record`, or neither (an empty name counts as none);
#   - a rule without `expr` (missing, or only blanks);
#   - `for`, `keep_firing_for`, a group's `interval` or `query_offset` that is not a Prometheus
#     duration: a sequence of number-and-unit pairs, units `y`, `w`, `d`, `h`, `m`, `s`, `ms`
#     in that order, no spaces (`5m`, `1h30m`, `0`; not `5 m`, `1h30`, `90sec`); `keep_firing_for`
#     may not be empty;
#   - a recording rule that sets `for`, `keep_firing_for` (other than 0) or `annotations`,
#     which only alerting rules may have;
#   - a `record` name that is not a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`, the
#     webhook's default "legacy" name validation), and label or annotation names that are not
#     valid label names (`[a-zA-Z_][a-zA-Z0-9_]*`, and a label may not be `__name__`);
#   - a group without a name, and a group name used twice in one PrometheusRule (the
#     operator writes each PrometheusRule as one rule file, and names must be unique in a file).
#
#   PromQL expressions and alert templates are not parsed: run `promtool check rules` for
#   those.
# related_resources:
#   - https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/
#   - https://prometheus.io/docs/prometheus/latest/configuration/configuration/#duration
#   - https://github.com/prometheus/prometheus/blob/main/model/rulefmt/rulefmt.go
#   - https://prometheus-operator.dev/docs/developer/alerting/
# custom:
#   id: prometheusrule_invalid
#   level: Error
#   solution: |
#     Correct the field the message names. To check a whole object before applying it,
#     extract its rule groups and run Prometheus' own checker:
#
#     ```sh
#     kubectl get prometheusrule NAME -n NAMESPACE -o jsonpath='{.spec}' | yq -P > rules.yaml
#     promtool check rules rules.yaml
#     ```
#
#     Deploy the operator's admission webhook (`prometheus-operator-admission-webhook`) so
#     that the API server refuses invalid PrometheusRules instead of accepting them silently.
#   example: |
#     kind: PrometheusRule
#     spec:
#       groups:
#         - name: web
#           rules:
#             - alert: HighErrorRate
#               expr: rate(http_requests_total{code=~"5.."}[5m]) > 1
#               for: 10 m      # fires: not a duration ("10m")
#   labels: [monitoring, prometheus]
#   requires: [monitoring.coreos.com/PrometheusRule]
package detek.prometheusrule_invalid

# Source: Prometheus rule file validation, model/rulefmt/rulefmt.go (RuleGroups.Validate and
# Rule.Validate: one of record/alert, expr required, no for/keep_firing_for/annotations on
# recording rules, valid metric and label names, unique group names), the <duration> format of
# https://prometheus.io/docs/prometheus/latest/configuration/configuration/#duration, and
# prometheus-operator, which validates PrometheusRules with the same code (pkg/operator/rules.go,
# ValidateRule; legacy name validation by default in cmd/admission-webhook).

findings contains {
	"object": {"kind": "PrometheusRule", "namespace": object.get(pr.metadata, "namespace", "default"), "name": pr.metadata.name},
	"message": problem.message,
	"evidence": problem.evidence,
} if {
	some problem in problems
	pr := prometheus_rules[problem.object]
}

prometheus_rules := object.get(object.get(object.get(input.kubernetes, "custom", {}), "monitoring.coreos.com", {}), "PrometheusRule", [])

# --- rules -------------------------------------------------------------------------------------

problems contains p if {
	some at in all_rules
	set_field(at.rule, "alert")
	set_field(at.rule, "record")
	text := sprintf("sets both alert and record (%s): a rule is either an alerting or a recording rule", [at.rule.record])
	p := rule_problem(at, text, "record", quoted(at.rule.record))
}

problems contains p if {
	some at in all_rules
	not set_field(at.rule, "alert")
	not set_field(at.rule, "record")
	text := concat("", ["sets neither alert nor record", empty_names(at.rule)])
	p := rule_problem(at, text, "alert", quoted(object.get(at.rule, "alert", null)))
}

problems contains p if {
	some at in all_rules
	not has_expr(at.rule)
	p := rule_problem(at, "has no expr", "expr", quoted(object.get(at.rule, "expr", null)))
}

problems contains p if {
	some at in all_rules
	some field in ["for", "keep_firing_for"]
	value := at.rule[field]
	not valid_duration(value, field == "keep_firing_for")
	text := sprintf("%s %s is not a Prometheus duration (such as 30s, 5m or 1h30m)", [field, quoted(value)])
	p := rule_problem(at, text, field, quoted(value))
}

problems contains p if {
	some at in all_rules
	set_field(at.rule, "record")
	not regex.match(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`, at.rule.record)
	text := sprintf("record %s is not a valid metric name (letters, digits, _ and :, not starting with a digit)", [quoted(at.rule.record)])
	p := rule_problem(at, text, "record", quoted(at.rule.record))
}

# for and keep_firing_for belong to alerting rules; "0s" or "0m" is no duration and allowed.
problems contains p if {
	some at in all_rules
	set_field(at.rule, "record")
	not set_field(at.rule, "alert")
	some field in ["for", "keep_firing_for"]
	value := at.rule[field]
	is_string(value)
	valid_duration(value, false)
	regex.match(`[1-9]`, value)
	text := sprintf("recording rule sets %s: %s, which only alerting rules may", [field, value])
	p := rule_problem(at, text, field, quoted(value))
}

problems contains p if {
	some at in all_rules
	set_field(at.rule, "record")
	not set_field(at.rule, "alert")
	is_object(at.rule.annotations)
	count(at.rule.annotations) > 0
	keys := concat(", ", sort(object.keys(at.rule.annotations)))
	p := rule_problem(at, "recording rule sets annotations, which only alerting rules may", "annotations", keys)
}

problems contains p if {
	some at in all_rules
	some field in ["labels", "annotations"]
	is_object(at.rule[field])
	some name in object.keys(at.rule[field])
	not valid_label_name(name, field == "labels")
	text := sprintf("%s name %s is not a valid label name", [singular[field], quoted(name)])
	p := rule_problem(at, text, field, quoted(name))
}

singular := {"labels": "label", "annotations": "annotation"}

# --- groups ------------------------------------------------------------------------------------

problems contains p if {
	some at in all_groups
	not non_empty_string(object.get(at.group, "name", null))
	p := group_problem(at, "has no name", "name", quoted(object.get(at.group, "name", null)))
}

problems contains p if {
	some at in all_groups
	some field in ["interval", "query_offset"]
	value := at.group[field]
	not valid_duration(value, false)
	text := sprintf("%s %s is not a Prometheus duration (such as 30s, 5m or 1h30m)", [field, quoted(value)])
	p := group_problem(at, text, field, quoted(value))
}

problems contains p if {
	some at in all_groups
	is_object(at.group.labels)
	some name in object.keys(at.group.labels)
	not valid_label_name(name, true)
	p := group_problem(at, sprintf("label name %s is not a valid label name", [quoted(name)]), "labels", quoted(name))
}

# A group name used twice: reported once for the object, with the positions of the groups.
problems contains p if {
	some i, pr in prometheus_rules
	some name in {n | some group in groups_of(pr); is_object(group); n := object.get(group, "name", null); non_empty_string(n)}
	positions := [g | some g, group in groups_of(pr); is_object(group); object.get(group, "name", null) == name]
	count(positions) > 1
	p := {
		"object": i,
		"message": sprintf("group name %s is used by %d groups: group names must be unique within a PrometheusRule", [quoted(name), count(positions)]),
		"evidence": sprintf("spec.groups[%s].name: %s", [concat(",", [format_int(g, 10) | some g in positions]), quoted(name)]),
	}
}

# --- walking the objects -----------------------------------------------------------------------

# Every group of every PrometheusRule, and where it is.
all_groups contains {"object": i, "index": g, "group": group} if {
	some i, pr in prometheus_rules
	some g, group in groups_of(pr)
	is_object(group)
}

# Every rule, and where it is.
all_rules contains {"object": at.object, "group": at.index, "group_label": group_label(at), "index": r, "rule": rule} if {
	some at in all_groups
	some r, rule in items(at.group.rules)
	is_object(rule)
}

groups_of(pr) := groups if {
	groups := pr.spec.groups
	is_array(groups)
} else := []

# `group "general.rules", rule 2 (Watchdog): has no expr`, with the field as evidence.
rule_problem(at, text, field, value) := {
	"object": at.object,
	"message": sprintf("group %s, rule %d (%s): %s", [at.group_label, at.index + 1, rule_name(at.rule), text]),
	"evidence": sprintf("spec.groups[%d].rules[%d].%s: %s", [at.group, at.index, field, value]),
}

# `group "web": interval "1 m" is not a Prometheus duration ...`
group_problem(at, text, field, value) := {
	"object": at.object,
	"message": sprintf("group %s: %s", [group_label(at), text]),
	"evidence": sprintf("spec.groups[%d].%s: %s", [at.index, field, value]),
}

# A group by its quoted name, or by its position ("#3") when it has none.
group_label(at) := quoted(at.group.name) if {
	non_empty_string(object.get(at.group, "name", null))
} else := sprintf("#%d", [at.index + 1])

# What Prometheus calls the rule in its errors: the alert name, else the record name.
rule_name(rule) := rule.alert if {
	set_field(rule, "alert")
} else := rule.record if {
	set_field(rule, "record")
} else := "unnamed"

empty_names(rule) := " (alert is empty)" if {
	object.get(rule, "alert", null) == ""
} else := " (record is empty)" if {
	object.get(rule, "record", null) == ""
} else := ""

# A field Prometheus treats as set: a non-empty string.
set_field(rule, field) if non_empty_string(object.get(rule, field, null))

non_empty_string(value) if {
	is_string(value)
	value != ""
}

# expr is a string or, as the CRD allows (IntOrString), a number.
has_expr(rule) if {
	is_string(rule.expr)
	trim_space(rule.expr) != ""
}

has_expr(rule) if is_number(rule.expr)

# null (an empty YAML value) and "" mean "not set", except that keep_firing_for may not be ""
# (the CRD's NonEmptyDuration); the operator drops empty for and interval values itself.
valid_duration(value, must_not_be_empty) if value == null

valid_duration(value, must_not_be_empty) if {
	value == ""
	not must_not_be_empty
}

valid_duration(value, must_not_be_empty) if {
	is_string(value)
	value != ""
	regex.match(`^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$`, value)
}

valid_label_name(name, is_label) if {
	regex.match(`^[a-zA-Z_][a-zA-Z0-9_]*$`, name)
	not reserved_label(name, is_label)
}

reserved_label(name, is_label) if {
	is_label
	name == "__name__"
}

quoted(value) := sprintf("\"%s\"", [value]) if is_string(value)

quoted(value) := sprintf("%v", [value]) if not is_string(value)

# Arrays only: regorus stops the policy on `some x in` over null or a string (a manifest can
# say `initContainers: null`); anything else than an array is left undefined here.
items(value) := value if is_array(value)
