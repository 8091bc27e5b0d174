// Package logging builds hollowmark's zap loggers: short progress lines on
// the terminal, every detail in a JSON log file in the run directory.
package logging

import (
	"fmt"
	"io"
	"os"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// New returns a logger that writes info and above to console in a compact
// form, and everything at debug level to logPath as JSON. Close flushes and
// closes the file.
func New(console io.Writer, logPath string, verbose bool) (logger *zap.Logger, closeFn func(), err error) {
	file, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening log file: %w", err)
	}
	consoleLevel := zapcore.InfoLevel
	if verbose {
		consoleLevel = zapcore.DebugLevel
	}
	consoleCfg := zapcore.EncoderConfig{
		TimeKey:        "T",
		LevelKey:       "L",
		MessageKey:     "M",
		EncodeTime:     zapcore.TimeEncoderOfLayout("15:04:05"),
		EncodeLevel:    zapcore.CapitalLevelEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
	}
	fileCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(file), zapcore.DebugLevel)
	core := zapcore.NewTee(
		zapcore.NewCore(zapcore.NewConsoleEncoder(consoleCfg), zapcore.Lock(zapcore.AddSync(console)), consoleLevel),
		fileCore,
	)
	logger = zap.New(core)
	// client-go logs through klog, to stderr unless told otherwise: its
	// watch errors while an API server restarts would flood the terminal.
	// klog is process-wide; so is the one session a command runs.
	klog.SetLogger(zapr.NewLogger(zap.New(fileCore).Named("klog")))
	return logger, func() {
		_ = logger.Sync()
		file.Close()
	}, nil
}
