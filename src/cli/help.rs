//! runc 1.1.5's help texts, with berth's name where runc prints its own: `help`,
//! `help CMD`, `CMD --help` and the usage errors print these (urfave/cli's
//! templates, rendered once and kept as text).

use super::COMMIT;

const APP_HEAD: &str = r#"NAME:
   berth - Open Container Initiative runtime

berth is a command line client for running applications packaged according to
the Open Container Initiative (OCI) format and is a compliant implementation of the
Open Container Initiative specification.

berth integrates well with existing process supervisors to provide a production
container runtime environment for applications. It can be used with your
existing process monitoring tools and the container will be spawned as a
direct child of the process supervisor.

Containers are configured using bundles. A bundle for a container is a directory
that includes a specification file named "config.json" and a root filesystem.
The root filesystem contains the contents of the container.

To start a new instance of a container:

    # berth run [ -b bundle ] <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host. Providing the bundle directory using "-b" is optional. The default
value for "bundle" is the current directory.

USAGE:
   berth [global options] command [command options] [arguments...]

"#;

const APP_TAIL: &str = r#"

COMMANDS:
   checkpoint  checkpoint a running container
   create      create a container
   delete      delete any resources held by the container often used with detached container
   events      display container events such as OOM notifications, cpu, memory, and IO usage statistics
   exec        execute new process inside the container
   kill        kill sends the specified signal (default: SIGTERM) to the container's init process
   list        lists containers started by berth with the given root
   pause       pause suspends all processes inside the container
   ps          ps displays the processes running inside a container
   restore     restore a container from a previous checkpoint
   resume      resumes all processes that have been previously paused
   run         create and run a container
   spec        create a new specification file
   start       executes the user defined process in a created container
   state       output the state of a container
   update      update container resource constraints
   features    show the enabled features
   help, h     Shows a list of commands or help for one command

GLOBAL OPTIONS:
   --debug             enable debug logging
   --log value         set the log file to write berth logs to (default is '/dev/stderr')
   --log-format value  set the log format ('text' (default), or 'json') (default: "text")
   --root value        root directory for storage of container state (this should be located in tmpfs) (default: "/run/berth")
   --criu value        path to the criu binary used for checkpoint and restore (default: "criu")
   --systemd-cgroup    enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:berth:434234"
   --rootless value    ignore cgroup permission errors ('true', 'false', or 'auto') (default: "auto")
   --help, -h          show help
   --version, -v       print the version
"#;

const CHECKPOINT: &str = r#"NAME:
   berth checkpoint - checkpoint a running container

USAGE:
   berth checkpoint [command options] <container-id>

Where "<container-id>" is the name for the instance of the container to be
checkpointed.

DESCRIPTION:
   The checkpoint command saves the state of the container instance.

OPTIONS:
   --image-path value           path for saving criu image files
   --work-path value            path for saving work files and logs
   --parent-path value          path for previous criu image files in pre-dump
   --leave-running              leave the process running after checkpointing
   --tcp-established            allow open tcp connections
   --ext-unix-sk                allow external unix sockets
   --shell-job                  allow shell jobs
   --lazy-pages                 use userfaultfd to lazily restore memory pages
   --status-fd value            criu writes \0 to this FD once lazy-pages is ready (default: -1)
   --page-server value          ADDRESS:PORT of the page server
   --file-locks                 handle file locks, for safety
   --pre-dump                   dump container's memory information only, leave the container running after this
   --manage-cgroups-mode value  cgroups mode: 'soft' (default), 'full' and 'strict'
   --empty-ns value             create a namespace, but don't restore its properties
   --auto-dedup                 enable auto deduplication of memory images
   
"#;

const CREATE: &str = r#"NAME:
   berth create - create a container

USAGE:
   berth create [command options] <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host.

DESCRIPTION:
   The create command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "config.json" and a root
filesystem.

The specification file includes an args parameter. The args parameter is used
to specify command(s) that get run when the container is started. To change the
command(s) that get executed on start, edit the args parameter of the spec. See
"berth spec --help" for more explanation.

OPTIONS:
   --bundle value, -b value  path to the root of the bundle directory, defaults to the current directory
   --console-socket value    path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
   --pid-file value          specify the file to write the process id to
   --no-pivot                do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk
   --no-new-keyring          do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key
   --preserve-fds value      Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)
   
"#;

const DELETE: &str = r#"NAME:
   berth delete - delete any resources held by the container often used with detached container

USAGE:
   berth delete [command options] <container-id>

Where "<container-id>" is the name for the instance of the container.

EXAMPLE:
For example, if the container id is "ubuntu01" and berth list currently shows the
status of "ubuntu01" as "stopped" the following will delete resources held for
"ubuntu01" removing "ubuntu01" from the berth list of containers:

       # berth delete ubuntu01

OPTIONS:
   --force, -f  Forcibly deletes the container if it is still running (uses SIGKILL)
   
"#;

const EVENTS: &str = r#"NAME:
   berth events - display container events such as OOM notifications, cpu, memory, and IO usage statistics

USAGE:
   berth events [command options] <container-id>

Where "<container-id>" is the name for the instance of the container.

DESCRIPTION:
   The events command displays information about the container. By default the
information is displayed once every 5 seconds.

OPTIONS:
   --interval value  set the stats collection interval (default: 5s)
   --stats           display the container's stats then exit
   
"#;

const EXEC: &str = r#"NAME:
   berth exec - execute new process inside the container

USAGE:
   berth exec [command options] <container-id> <command> [command options]  || -p process.json <container-id>

Where "<container-id>" is the name for the instance of the container and
"<command>" is the command to be executed in the container.
"<command>" can't be empty unless a "-p" flag provided.

EXAMPLE:
For example, if the container is configured to run the linux ps command the
following will output a list of processes running in the container:

       # berth exec <container-id> ps

OPTIONS:
   --console-socket value             path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
   --cwd value                        current working directory in the container
   --env value, -e value              set environment variables
   --tty, -t                          allocate a pseudo-TTY
   --user value, -u value             UID (format: <uid>[:<gid>])
   --additional-gids value, -g value  additional gids
   --process value, -p value          path to the process.json
   --detach, -d                       detach from the container's process
   --pid-file value                   specify the file to write the process id to
   --process-label value              set the asm process label for the process commonly used with selinux
   --apparmor value                   set the apparmor profile for the process
   --no-new-privs                     set the no new privileges value for the process
   --cap value, -c value              add a capability to the bounding set for the process
   --preserve-fds value               Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)
   --cgroup value                     run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.
   --ignore-paused                    allow exec in a paused container
   
"#;

const KILL: &str = r#"NAME:
   berth kill - kill sends the specified signal (default: SIGTERM) to the container's init process

USAGE:
   berth kill [command options] <container-id> [signal]

Where "<container-id>" is the name for the instance of the container and
"[signal]" is the signal to be sent to the init process.

EXAMPLE:
For example, if the container id is "ubuntu01" the following will send a "KILL"
signal to the init process of the "ubuntu01" container:

       # berth kill ubuntu01 KILL

OPTIONS:
   --all, -a  send the specified signal to all processes inside the container
   
"#;

const LIST: &str = r#"NAME:
   berth list - lists containers started by berth with the given root

USAGE:
   berth list [command options] 

Where the given root is specified via the global option "--root"
(default: "/run/berth").

EXAMPLE 1:
To list containers created via the default "--root":
       # berth list

EXAMPLE 2:
To list containers created using a non-default value for "--root":
       # berth --root value list

OPTIONS:
   --format value, -f value  select one of: table or json (default: "table")
   --quiet, -q               display only container IDs
   
"#;

const PAUSE: &str = r#"NAME:
   berth pause - pause suspends all processes inside the container

USAGE:
   berth pause <container-id>

Where "<container-id>" is the name for the instance of the container to be
paused. 

DESCRIPTION:
   The pause command suspends all processes in the instance of the container.

Use berth list to identify instances of containers and their current status.
"#;

const PS: &str = r#"NAME:
   berth ps - ps displays the processes running inside a container

USAGE:
   berth ps [command options] <container-id> [ps options]

OPTIONS:
   --format value, -f value  select one of: table or json (default: "table")
   
"#;

const RESTORE: &str = r#"NAME:
   berth restore - restore a container from a previous checkpoint

USAGE:
   berth restore [command options] <container-id>

Where "<container-id>" is the name for the instance of the container to be
restored.

DESCRIPTION:
   Restores the saved state of the container instance that was previously saved
using the berth checkpoint command.

OPTIONS:
   --console-socket value       path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
   --image-path value           path to criu image files for restoring
   --work-path value            path for saving work files and logs
   --tcp-established            allow open tcp connections
   --ext-unix-sk                allow external unix sockets
   --shell-job                  allow shell jobs
   --file-locks                 handle file locks, for safety
   --manage-cgroups-mode value  cgroups mode: 'soft' (default), 'full' and 'strict'
   --bundle value, -b value     path to the root of the bundle directory
   --detach, -d                 detach from the container's process
   --pid-file value             specify the file to write the process id to
   --no-subreaper               disable the use of the subreaper used to reap reparented processes
   --no-pivot                   do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk
   --empty-ns value             create a namespace, but don't restore its properties
   --auto-dedup                 enable auto deduplication of memory images
   --lazy-pages                 use userfaultfd to lazily restore memory pages
   --lsm-profile value          Specify an LSM profile to be used during restore in the form of TYPE:NAME.
   --lsm-mount-context value    Specify an LSM mount context to be used during restore.
   
"#;

const RESUME: &str = r#"NAME:
   berth resume - resumes all processes that have been previously paused

USAGE:
   berth resume <container-id>

Where "<container-id>" is the name for the instance of the container to be
resumed.

DESCRIPTION:
   The resume command resumes all processes in the instance of the container.

Use berth list to identify instances of containers and their current status.
"#;

const RUN: &str = r#"NAME:
   berth run - create and run a container

USAGE:
   berth run [command options] <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host.

DESCRIPTION:
   The run command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "config.json" and a root
filesystem.

The specification file includes an args parameter. The args parameter is used
to specify command(s) that get run when the container is started. To change the
command(s) that get executed on start, edit the args parameter of the spec. See
"berth spec --help" for more explanation.

OPTIONS:
   --bundle value, -b value  path to the root of the bundle directory, defaults to the current directory
   --console-socket value    path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
   --detach, -d              detach from the container's process
   --keep                    do not delete the container after it exits
   --pid-file value          specify the file to write the process id to
   --no-subreaper            disable the use of the subreaper used to reap reparented processes
   --no-pivot                do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk
   --no-new-keyring          do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key
   --preserve-fds value      Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)
   
"#;

const SPEC: &str = r#"NAME:
   berth spec - create a new specification file

USAGE:
   berth spec [command options] [arguments...]

DESCRIPTION:
   The spec command creates the new specification file named "config.json" for
the bundle.

The spec generated is just a starter file. Editing of the spec is required to
achieve desired results. For example, the newly generated spec includes an args
parameter that is initially set to call the "sh" command when the container is
started. Calling "sh" may work for an ubuntu container or busybox, but will not
work for containers that do not include the "sh" program.

EXAMPLE:
  To run docker's hello-world container one needs to set the args parameter
in the spec to call hello. This can be done using the sed command or a text
editor. The following commands create a bundle for hello-world, change the
default args parameter in the spec from "sh" to "/hello", then run the hello
command in a new hello-world container named container1:

    mkdir hello
    cd hello
    docker pull hello-world
    docker export $(docker create hello-world) > hello-world.tar
    mkdir rootfs
    tar -C rootfs -xf hello-world.tar
    berth spec
    sed -i 's;"sh";"/hello";' config.json
    berth run container1

In the run command above, "container1" is the name for the instance of the
container that you are starting. The name you provide for the container instance
must be unique on your host.

An alternative for generating a customized spec config is to use "oci-runtime-tool", the
sub-command "oci-runtime-tool generate" has lots of options that can be used to do any
customizations as you want, see runtime-tools (https://github.com/opencontainers/runtime-tools)
to get more information.

When starting a container through berth, berth needs root privilege. If not
already running as root, you can use sudo to give berth root privilege. For
example: "sudo berth start container1" will give berth root privilege to start the
container on your host.

Alternatively, you can start a rootless container, which has the ability to run
without root privileges. For this to work, the specification file needs to be
adjusted accordingly. You can pass the parameter --rootless to this command to
generate a proper rootless spec file.

Note that --rootless is not needed when you execute berth as the root in a user namespace
created by an unprivileged user.


OPTIONS:
   --bundle value, -b value  path to the root of the bundle directory
   --rootless                generate a configuration for a rootless container
   
"#;

const START: &str = r#"NAME:
   berth start - executes the user defined process in a created container

USAGE:
   berth start <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host.

DESCRIPTION:
   The start command executes the user defined process in a created container.
"#;

const STATE: &str = r#"NAME:
   berth state - output the state of a container

USAGE:
   berth state <container-id>

Where "<container-id>" is your name for the instance of the container.

DESCRIPTION:
   The state command outputs current state information for the
instance of a container.
"#;

const UPDATE: &str = r#"NAME:
   berth update - update container resource constraints

USAGE:
   berth update [command options] <container-id>

OPTIONS:
   --resources value, -r value  path to the file containing the resources to update or '-' to read from the standard input

The accepted format is as follow (unchanged values can be omitted):

{
  "memory": {
    "limit": 0,
    "reservation": 0,
    "swap": 0
  },
  "cpu": {
    "shares": 0,
    "quota": 0,
    "period": 0,
    "realtimeRuntime": 0,
    "realtimePeriod": 0,
    "cpus": "",
    "mems": ""
  },
  "blockIO": {
    "weight": 0
  }
}

Note: if data is to be read from a file or the standard input, all
other options are ignored.
   --blkio-weight value        Specifies per cgroup weight, range is from 10 to 1000 (default: 0)
   --cpu-period value          CPU CFS period to be used for hardcapping (in usecs). 0 to use system default
   --cpu-quota value           CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period
   --cpu-share value           CPU shares (relative weight vs. other containers)
   --cpu-rt-period value       CPU realtime period to be used for hardcapping (in usecs). 0 to use system default
   --cpu-rt-runtime value      CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period
   --cpuset-cpus value         CPU(s) to use
   --cpuset-mems value         Memory node(s) to use
   --memory value              Memory limit (in bytes)
   --memory-reservation value  Memory reservation or soft_limit (in bytes)
   --memory-swap value         Total memory usage (memory + swap); set '-1' to enable unlimited swap
   --pids-limit value          Maximum number of pids allowed in the container (default: 0)
   --l3-cache-schema value     The string of Intel RDT/CAT L3 cache schema
   --mem-bw-schema value       The string of Intel RDT/MBA memory bandwidth schema
   
"#;

const FEATURES: &str = r#"NAME:
   berth features - show the enabled features

USAGE:
   berth features [arguments...]

DESCRIPTION:
   Show the enabled features.
   The result is parsable as a JSON.
   See https://pkg.go.dev/github.com/opencontainers/runc/types/features for the type definition.
   The types are experimental and subject to change.

"#;

const HELP: &str = r#"NAME:
    - Shows a list of commands or help for one command

USAGE:
    [command]
"#;

/// `berth --help`: runc's, with berth's version lines.
pub(crate) fn app() -> String {
    format!("{APP_HEAD}VERSION:\n   {}\ncommit: {COMMIT}\nspec: 1.2.0{APP_TAIL}", env!("CARGO_PKG_VERSION"))
}

/// The help of a command (or of `help` itself), by any of its names.
pub(crate) fn command(name: &str) -> Option<&'static str> {
    Some(match name {
        "checkpoint" => CHECKPOINT,
        "create" => CREATE,
        "delete" => DELETE,
        "events" => EVENTS,
        "exec" => EXEC,
        "kill" => KILL,
        "list" => LIST,
        "pause" => PAUSE,
        "ps" => PS,
        "restore" => RESTORE,
        "resume" => RESUME,
        "run" => RUN,
        "spec" => SPEC,
        "start" => START,
        "state" => STATE,
        "update" => UPDATE,
        "features" => FEATURES,
        "help" | "h" => HELP,
        _ => return None,
    })
}
