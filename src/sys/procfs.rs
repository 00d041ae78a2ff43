//! Reading /proc and cgroupfs files whole. Both report a size of 0, so `fs::read_to_string`
//! asks for the size (statx, lseek) and then reads in growing probes of 32, 32,
//! 64, 128… bytes: ten syscalls for a 2 KiB mountinfo. The kernel fills a 4 KiB
//! buffer in one read, so `read` makes two (the data, then EOF).

use std::io::Read;
use std::path::Path;

/// The text of a /proc or cgroupfs file (any small file whose size the kernel
/// does not report).
pub fn read(path: impl AsRef<Path>) -> std::io::Result<String> {
    let f = std::fs::File::open(path)?;
    let mut text = String::with_capacity(4096);
    // `take`: the generic read loop, without File's size probing.
    f.take(u64::MAX).read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_proc_file_whole_even_past_the_first_buffer() {
        let text = super::read("/proc/self/mountinfo").unwrap();
        assert_eq!(text, std::fs::read_to_string("/proc/self/mountinfo").unwrap());
        let status = super::read("/proc/self/status").unwrap();
        assert!(status.len() > 1000 && status.contains("\nPid:\t"), "{status}");
        let big = super::read("/proc/self/smaps").unwrap();
        assert!(big.len() > 4096, "smaps is longer than one buffer: {}", big.len());
        assert!(big.ends_with('\n'));
    }
}
