//! Writing one tar entry with exact bytes: GNU headers (base-256 for big
//! ids and sizes), `././@LongLink` entries for names and link targets over
//! 100 bytes, PAX records for xattrs. Written by hand rather than through
//! `tar::Builder`, whose path handling normalizes (drops a directory's
//! trailing `/`, `.` components inside a symlink's target).

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

const BLOCK: usize = 512;
const NAME_MAX: usize = 100;
const LONG_LINK: &[u8] = b"././@LongLink";
const PAX_NAME: &[u8] = b"././@PaxHeader";

/// What the walker knows about one entry.
pub(super) struct Entry<'a> {
    pub name: &'a [u8],
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub size: u64,
    pub link: Option<&'a [u8]>,
    pub device: (u32, u32),
    pub xattrs: &'a [(String, Vec<u8>)],
}

/// Write `e`, then exactly `e.size` bytes of `data` (zeros if it ends early:
/// a file that shrank while it was read still gives a valid archive).
pub(super) fn write(out: &mut impl Write, e: &Entry<'_>, data: impl Read) -> io::Result<()> {
    if !e.xattrs.is_empty() {
        let mut records = Vec::new();
        for (k, v) in e.xattrs {
            pax_record(&mut records, &format!("SCHILY.xattr.{k}"), v);
        }
        special(out, PAX_NAME, EntryType::XHeader, &records)?;
    }
    if e.name.len() > NAME_MAX {
        special(out, LONG_LINK, EntryType::GNULongName, &nul_terminated(e.name))?;
    }
    if let Some(l) = e.link.filter(|l| l.len() > NAME_MAX) {
        special(out, LONG_LINK, EntryType::GNULongLink, &nul_terminated(l))?;
    }
    let mut h = Header::new_gnu();
    h.set_entry_type(e.kind);
    h.set_mode(e.mode);
    h.set_uid(e.uid);
    h.set_gid(e.gid);
    h.set_mtime(e.mtime);
    h.set_size(e.size);
    if matches!(e.kind, EntryType::Char | EntryType::Block) {
        h.set_device_major(e.device.0)?;
        h.set_device_minor(e.device.1)?;
    }
    {
        let g = h.as_gnu_mut().ok_or_else(|| io::Error::other("not a GNU header"))?;
        copy_truncated(&mut g.name, e.name);
        if let Some(l) = e.link {
            copy_truncated(&mut g.linkname, l);
        }
    }
    h.set_cksum();
    out.write_all(h.as_bytes())?;
    if e.size > 0 {
        let copied = io::copy(&mut data.take(e.size), out)?;
        io::copy(&mut io::repeat(0).take(e.size - copied), out)?;
        pad(out, e.size)?;
    }
    Ok(())
}

/// The two zero blocks that end an archive.
pub(super) fn finish(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&[0u8; BLOCK * 2])
}

fn special(out: &mut impl Write, name: &[u8], kind: EntryType, data: &[u8]) -> io::Result<()> {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    if let Some(g) = h.as_gnu_mut() {
        copy_truncated(&mut g.name, name);
    }
    h.set_cksum();
    out.write_all(h.as_bytes())?;
    out.write_all(data)?;
    pad(out, data.len() as u64)
}

fn pad(out: &mut impl Write, size: u64) -> io::Result<()> {
    let rem = (size % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

fn nul_terminated(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.push(0);
    v
}

fn copy_truncated(slot: &mut [u8], b: &[u8]) {
    let n = b.len().min(slot.len());
    slot[..n].copy_from_slice(&b[..n]);
}

/// One PAX record, `"<len> <key>=<value>\n"`, where `<len>` counts itself.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let rest = 1 + key.len() + 1 + value.len() + 1;
    let mut len = rest + 1;
    while len.to_string().len() + rest > len {
        len += 1;
    }
    len = len.to_string().len() + rest;
    out.extend_from_slice(format!("{len} {key}=").as_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        let mut v = Vec::new();
        pax_record(&mut v, "SCHILY.xattr.user.a", b"1");
        assert_eq!(v, b"25 SCHILY.xattr.user.a=1\n");
        let mut v = Vec::new();
        pax_record(&mut v, "k", &[b'x'; 5]);
        assert_eq!(v, b"11 k=xxxxx\n");
        assert_eq!(v.len(), 11);
    }
}
