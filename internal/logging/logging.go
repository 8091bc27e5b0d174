// Package logging builds hollowmark's zap loggers: short progress lines on
// the terminal, every detail in a JSON log file in the run directory.
package logging

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
	core := zapcore.NewTee(
		zapcore.NewCore(zapcore.NewConsoleEncoder(consoleCfg), zapcore.Lock(zapcore.AddSync(console)), consoleLevel),
		zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(file), zapcore.DebugLevel),
	)
	logger = zap.New(core)
	return logger, func() {
		_ = logger.Sync()
		file.Close()
	}, nil
}
