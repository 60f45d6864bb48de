// Package lab holds sockscope's experiments: each builds a few real sockets,
// collects sockscope's own snapshot of them, and checks one claim about
// ports and sockets against what the kernel actually did and what the
// snapshot shows. It also asks sockscope's oracle (package demux) what it
// predicts, and counts a definite prediction the kernel contradicts as a
// failure.
//
// # Where the sockets live
//
// As root, each experiment runs on a goroutine locked to an OS thread that
// has unshared its network namespace (CLONE_NEWNET) and brought lo up; the
// thread is never unlocked, so the namespace, and every socket left in it,
// goes away with the goroutine. Without that privilege the experiment runs
// on the loopback of the caller's own namespace, binds only ports the
// kernel chose, and says so in its report. TIME-WAIT sockets made there
// expire by themselves within a minute.
//
// Every file descriptor an experiment opens is closed before [Run] returns.
// unix-no-port binds a path in a directory of $TMPDIR named
// sockscope-lab-PID-RANDOM and removes the directory as soon as its
// sockets are bound and connected (the sockets keep their name), so that
// even SIGKILL, which runs no clean-up, can leave it only in that instant;
// each run first removes such directories, of this user, whose PID is no
// longer running.
package lab
