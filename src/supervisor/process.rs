//! Spawning a component so it can never outlive kwb, and signalling it.
//!
//! Each child leads its own process group (so a stop reaches anything it forked) and asks the
//! kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG), which covers kwb itself being
//! SIGKILLed. The death signal fires when the *thread* that forked exits, so children are
//! spawned from tokio worker threads, which live as long as the runtime.

use std::path::Path;
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::launch::LaunchPlan;

pub fn spawn(plan: &LaunchPlan) -> std::io::Result<Child> {
    for (path, contents) in &plan.files {
        write_private(path, contents)?;
    }
    let mut cmd = Command::new(&plan.program);
    cmd.args(&plan.args)
        .current_dir(&plan.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // kwb's own log filter must not leak into builtin components' defaults.
        .env_remove("RUST_LOG")
        .kill_on_drop(false);
    own_group_dying_with_parent(&mut cmd);
    cmd.spawn()
}

/// Makes the child of `cmd` lead its own process group and get SIGKILL when this process dies.
pub fn own_group_dying_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would kill us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Sends `signal` to the whole process group led by `pid`.
pub fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// Writes a generated file readable only by its owner; parent dirs are created 0700.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
