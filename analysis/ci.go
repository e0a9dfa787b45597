package analysis

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"
)

// CIRules are dive's CI thresholds, as strings the way dive takes them: a number, a size for
// highest-wasted-bytes ("20MB", parsed by go-humanize as dive does), or "disabled" (also "",
// "off", "false").
type CIRules struct {
	LowestEfficiency         string `json:"lowestEfficiency"`
	HighestWastedBytes       string `json:"highestWastedBytes"`
	HighestUserWastedPercent string `json:"highestUserWastedPercent"`
}

// DefaultCIRules are dive's defaults.
func DefaultCIRules() CIRules {
	return CIRules{LowestEfficiency: "0.9", HighestWastedBytes: "disabled", HighestUserWastedPercent: "0.1"}
}

// LoadCIConfig reads a .dive-ci file over rules as dive does: when the file exists its values
// replace dive's defaults (snake-case keys, or the legacy camelCase ones); when it does not, rules
// are returned unchanged.
func LoadCIConfig(file string, rules CIRules) (CIRules, bool, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return rules, false, nil
	}
	if err != nil {
		return rules, false, fmt.Errorf("failed to read CI config file %s: %w", file, err)
	}
	var doc struct {
		Rules map[string]any `yaml:"rules"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return rules, false, fmt.Errorf("failed to unmarshal CI config file %s: %w", file, err)
	}
	out := DefaultCIRules()
	for k, v := range doc.Rules {
		s := fmt.Sprint(v)
		switch k {
		case "lowest-efficiency", "lowestEfficiency":
			out.LowestEfficiency = s
		case "highest-wasted-bytes", "highestWastedBytes":
			out.HighestWastedBytes = s
		case "highest-user-wasted-percent", "highestUserWastedPercent":
			out.HighestUserWastedPercent = s
		}
	}
	return out, true, nil
}

// CIResult is one rule's verdict: Status is PASS, FAIL or SKIP (disabled).
type CIResult struct {
	Rule    string `json:"rule"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func ruleDisabled(v string) bool {
	v = strings.TrimSpace(strings.ToLower(v))
	return v == "" || v == "disabled" || v == "off" || v == "false"
}

// EvaluateCI checks a report against the rules, in dive's rule-name order, with dive's messages.
// A malformed threshold is an error naming the rule and the value.
func EvaluateCI(r *Report, rules CIRules) ([]CIResult, bool, error) {
	var out []CIResult
	pass := true
	add := func(rule, cfg string, failed bool, msg string) {
		st := "PASS"
		if failed {
			st, pass = "FAIL", false
		} else {
			msg = cfg
		}
		out = append(out, CIResult{rule, st, msg})
	}
	// highestUserWastedPercent, highestWastedBytes, lowestEfficiency: sorted as dive prints them.
	if v := rules.HighestUserWastedPercent; ruleDisabled(v) {
		out = append(out, CIResult{"highestUserWastedPercent", "SKIP", "disabled"})
	} else {
		th, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, false, fmt.Errorf("invalid highestUserWastedPercent config value, given %q: %v", v, err)
		}
		if th < 0 || th > 1 {
			return nil, false, fmt.Errorf("highestUserWastedPercent config value is outside allowed range (0-1), given '%f'", th)
		}
		add("highestUserWastedPercent", v, r.UserWastedPercent > th,
			fmt.Sprintf("too many bytes wasted, relative to the user bytes added (%%-user-wasted-bytes=%2.2f > threshold=%v)", r.UserWastedPercent, th))
	}
	if v := rules.HighestWastedBytes; ruleDisabled(v) {
		out = append(out, CIResult{"highestWastedBytes", "SKIP", "disabled"})
	} else {
		th, err := humanize.ParseBytes(v)
		if err != nil {
			return nil, false, fmt.Errorf("invalid highestWastedBytes config value, given %q: %v", v, err)
		}
		add("highestWastedBytes", v, uint64(r.WastedBytes) > th,
			fmt.Sprintf("too many bytes wasted (wasted-bytes=%d > threshold=%v)", r.WastedBytes, th))
	}
	if v := rules.LowestEfficiency; ruleDisabled(v) {
		out = append(out, CIResult{"lowestEfficiency", "SKIP", "disabled"})
	} else {
		th, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, false, fmt.Errorf("invalid lowestEfficiency config value, given %q: %v", v, err)
		}
		if th < 0 || th > 1 {
			return nil, false, fmt.Errorf("lowestEfficiency config value is outside allowed range (0-1), given '%f'", th)
		}
		add("lowestEfficiency", v, th > r.Efficiency,
			fmt.Sprintf("image efficiency is too low (efficiency=%2.2f < threshold=%v)", r.Efficiency, th))
	}
	return out, pass, nil
}
