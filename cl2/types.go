package cl2

// The shape of a ClusterLoader2 test config, as CL2's api package defines
// it (clusterloader2/api/types.go). CL2 decodes YAML through JSON, so keys
// match field names in any case; decode does the same here, and refuses
// keys that match none.

type config struct {
	Name                  string          `yaml:"name"`
	AutomanagedNamespaces int             `yaml:"automanagedNamespaces"`
	Namespace             namespaceConfig `yaml:"namespace"`
	TuningSets            []tuningSet     `yaml:"tuningSets"`
	Steps                 []step          `yaml:"steps"`
	ChaosMonkey           chaosMonkey     `yaml:"chaosMonkey"`
	Dependencies          []dependency    `yaml:"dependencies"`
}

type namespaceConfig struct {
	Number                      int    `yaml:"number"`
	Prefix                      string `yaml:"prefix"`
	DeleteStaleNamespaces       *bool  `yaml:"deleteStaleNamespaces"`
	DeleteAutomanagedNamespaces *bool  `yaml:"deleteAutomanagedNamespaces"`
	EnableExistingNamespaces    *bool  `yaml:"enableExistingNamespaces"`
	DeleteNamespaceTimeout      string `yaml:"deleteNamespaceTimeout"`
}

type step struct {
	Name         string        `yaml:"name"`
	Phases       []phase       `yaml:"phases"`
	Measurements []measurement `yaml:"measurements"`
	Module       moduleRef     `yaml:"module"`
}

type moduleRef struct {
	Path   string         `yaml:"path"`
	Params map[string]any `yaml:"params"`
}

// module is a file of steps a config includes with its own parameters.
type module struct {
	Steps []step `yaml:"steps"`
}

type phase struct {
	NamespaceRange       *namespaceRange `yaml:"namespaceRange"`
	NamespaceList        []string        `yaml:"namespaceList"`
	ReplicasPerNamespace int             `yaml:"replicasPerNamespace"`
	TuningSet            string          `yaml:"tuningSet"`
	ObjectBundle         []object        `yaml:"objectBundle"`
}

type namespaceRange struct {
	Min      int     `yaml:"min"`
	Max      int     `yaml:"max"`
	Basename *string `yaml:"basename"`
}

type object struct {
	Basename                 string         `yaml:"basename"`
	ObjectTemplatePath       string         `yaml:"objectTemplatePath"`
	TemplateFillMap          map[string]any `yaml:"templateFillMap"`
	ListUnknownObjectOptions map[string]any `yaml:"listUnknownObjectOptions"`
}

type tuningSet struct {
	Name                      string                  `yaml:"name"`
	InitialDelay              string                  `yaml:"initialDelay"`
	QPSLoad                   *qpsLoad                `yaml:"qpsLoad"`
	RandomizedLoad            *randomizedLoad         `yaml:"randomizedLoad"`
	SteppedLoad               *steppedLoad            `yaml:"steppedLoad"`
	TimeLimitedLoad           *timeLimitedLoad        `yaml:"timeLimitedLoad"`
	RandomizedTimeLimitedLoad *timeLimitedLoad        `yaml:"randomizedTimeLimitedLoad"`
	ParallelismLimitedLoad    *parallelismLimitedLoad `yaml:"parallelismLimitedLoad"`
	GlobalQPSLoad             *globalQPSLoad          `yaml:"globalQPSLoad"`
	PoissonLoad               *poissonLoad            `yaml:"poissonLoad"`
}

type qpsLoad struct {
	QPS float64 `yaml:"qps"`
}

type randomizedLoad struct {
	AverageQPS float64 `yaml:"averageQps"`
}

type steppedLoad struct {
	BurstSize int    `yaml:"burstSize"`
	StepDelay string `yaml:"stepDelay"`
}

type timeLimitedLoad struct {
	TimeLimit string `yaml:"timeLimit"`
}

type parallelismLimitedLoad struct {
	ParallelismLimit int `yaml:"parallelismLimit"`
}

type globalQPSLoad struct {
	QPS   float64 `yaml:"qps"`
	Burst int     `yaml:"burst"`
}

type poissonLoad struct {
	ExpectedActionsPerSecond float64 `yaml:"expectedActionsPerSecond"`
}

type measurement struct {
	Method     string         `yaml:"method"`
	Identifier string         `yaml:"identifier"`
	Params     map[string]any `yaml:"params"`
	Instances  []instance     `yaml:"instances"`
}

type instance struct {
	Identifier string         `yaml:"identifier"`
	Params     map[string]any `yaml:"params"`
}

type chaosMonkey struct {
	NodeFailure   *nodeFailure `yaml:"nodeFailure"`
	ExcludedNodes []string     `yaml:"excludedNodes"`
}

type nodeFailure struct {
	FailureRate       float64 `yaml:"failureRate"`
	Interval          string  `yaml:"interval"`
	JitterFactor      float64 `yaml:"jitterFactor"`
	SimulatedDowntime string  `yaml:"simulatedDowntime"`
}

type dependency struct {
	Name    string         `yaml:"name"`
	Method  string         `yaml:"method"`
	Timeout string         `yaml:"timeout"`
	Params  map[string]any `yaml:"params"`
}
