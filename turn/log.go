package turn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// levelTrace is below slog's Debug: sipedge's STACK log level.
const levelTrace = slog.LevelDebug - 4

// pionLogs adapts pion's leveled loggers to slog. Everything pion logs can
// be caused by whoever sends us packets (a bad request, a refused
// permission, a failed TLS handshake), so none of it may flood the log:
// pion's Info, Warn and Error go to Debug, its Debug and Trace to the
// trace level (LogLevel = STACK).
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(lv slog.Level, msg string) {
	l.log.Log(context.Background(), lv, msg)
}

func (l pionLogger) atf(lv slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), lv) {
		l.log.Log(context.Background(), lv, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.at(levelTrace, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.atf(levelTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.at(levelTrace, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.atf(levelTrace, format, args...) }
func (l pionLogger) Info(msg string)                   { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.atf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.atf(slog.LevelDebug, format, args...) }
func (l pionLogger) Error(msg string)                  { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.atf(slog.LevelDebug, format, args...) }
