//! Runs a child process with its output through pipes and a time limit, and measures its wall
//! time from spawn to exit.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the output pipes may stay open after the child exits (a process it started and
/// left holding them).
const PIPE_GRACE: Duration = Duration::from_secs(5);

/// A child that ran to its end.
pub(crate) struct Finished {
    /// From just before spawning to the moment its exit was seen.
    pub(crate) wall: Duration,
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Finished {
    /// This run if it exited 0, else an error naming `what` with the end of its stderr.
    pub(crate) fn success(self, what: &str) -> Result<Self, String> {
        if self.status.success() {
            return Ok(self);
        }
        let stderr = self.stderr.trim();
        let tail: String = stderr.chars().skip(stderr.chars().count().saturating_sub(2000)).collect();
        Err(format!("{what} failed ({}):\n{tail}", self.status))
    }
}

/// Runs `command` with stdin on the null device and stdout and stderr through pipes; kills it
/// and returns an error when it has not exited within `limit`.
pub(crate) fn run(command: &mut Command, what: &str, limit: Duration) -> Result<Finished, String> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("cannot start {what}: {e}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let (status, ended) = wait(child, what, limit)?;
    let output = |pipe: mpsc::Receiver<String>| {
        pipe.recv_timeout(PIPE_GRACE).map_err(|_| format!("{what} exited but something it started holds its output"))
    };
    Ok(Finished { wall: ended.duration_since(started), status, stdout: output(stdout)?, stderr: output(stderr)? })
}

/// Runs `command` with its output on the terminal (a build, an install); an error unless it
/// exits 0 within `limit`.
pub(crate) fn run_visible(command: &mut Command, what: &str, limit: Duration) -> Result<(), String> {
    let child = command.stdin(Stdio::null()).spawn().map_err(|e| format!("cannot start {what}: {e}"))?;
    let (status, _) = wait(child, what, limit)?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}

/// Waits for the child's exit on a thread, up to `limit`, then kills it. The exit status and
/// the moment the exit was seen.
fn wait(mut child: Child, what: &str, limit: Duration) -> Result<(ExitStatus, Instant), String> {
    let pid = child.id();
    let (exited_tx, exited) = mpsc::channel();
    thread::spawn(move || {
        let status = child.wait();
        let _ = exited_tx.send((status, Instant::now()));
    });
    match exited.recv_timeout(limit) {
        Ok((Ok(status), ended)) => Ok((status, ended)),
        Ok((Err(error), _)) => Err(format!("waiting for {what}: {error}")),
        Err(_) => {
            kill(pid);
            let _ = exited.recv_timeout(PIPE_GRACE);
            Err(format!("{what} did not finish within {limit:?} and was killed"))
        }
    }
}

/// Reads a pipe to its end on a thread; the text arrives on the channel.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (text_tx, text) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = text_tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    text
}

/// Kills the child by its id. It is not reaped yet (its waiter has not returned), so the id
/// still names it.
fn kill(pid: u32) {
    let pid = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::process::Command;
    use std::time::{Duration, Instant};

    use super::run;

    #[test]
    fn output_status_and_wall_time_are_returned() {
        let finished =
            run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]), "sh", Duration::from_secs(30))
                .unwrap();
        assert_eq!((finished.stdout.as_str(), finished.stderr.as_str()), ("out\n", "err\n"));
        assert_eq!(finished.status.code(), Some(3));
        assert!(finished.wall < Duration::from_secs(30));
        let error = finished.success("the script").err().unwrap();
        assert!(error.starts_with("the script failed (exit status: 3):\nerr"), "{error}");
    }

    #[test]
    fn a_child_past_its_limit_is_killed() {
        let started = Instant::now();
        let error = run(Command::new("sleep").arg("30"), "sleep", Duration::from_millis(200)).err().unwrap();
        assert_eq!(error, "sleep did not finish within 200ms and was killed");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_is_reported() {
        let error = run(&mut Command::new("/no/such/program"), "the program", Duration::from_secs(1)).err().unwrap();
        assert!(error.starts_with("cannot start the program:"), "{error}");
    }
}
