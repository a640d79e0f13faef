#!/usr/bin/env python3
"""The option checks of e2e/help_matches.sh: --help, the man pages and the
code agree, both ways. Prints one "ok - WHAT" or "not ok - WHAT (WHY)" line
a check, then "done".

  help_matches.py SRC TMPDIR COMMAND...   (gg and ggfs on PATH)

How each side is read, so that a check can fail:
  --help   the options of its usage lines, and of the lines of its option
           list (an indented line starting with "-": the options before the
           description, "-j, --jobs N"); never a word of the prose.
  man      the tags (.TP, .TQ) of the OPTIONS section (of gg-storage(7),
           the subsection .SS "gg CMD"), and the SYNOPSIS lines that start
           with the command (split at .br).
  code     the option table ({"name", ..._argument, ...}) and the short
           options (getopt_long's string, or, for read_options, the letters
           of the table's values) of the command's own function, cmd_NAME
           (main for gg, whose options are string literals), in the file
           that holds its usage; ggfs: the fuse_opt table ggfs_opts.
  probe    `gg CMD OPTION --zz-probe-a --zz-probe-b` in an empty directory:
           the option is accepted unless the error names it as unknown
           (an option that takes a value takes the first probe word; the
           second then stops getopt, so nothing runs). A command's control,
           an option that does not exist, must give that error.
"""
import concurrent.futures
import os
import re
import subprocess
import sys

src, tmp, cmds = sys.argv[1], sys.argv[2], sys.argv[3:]
HELP = {'-h', '--help'}  # every command takes them; its help need not list itself


said = set()


def check(what, good, why=''):
    if what in said:  # -e in the usage line and in the option list
        return
    said.add(what)
    print(('ok - ' if good else 'not ok - ') + what + ('' if good or not why else ' (%s)' % why))


# ---- man pages --------------------------------------------------------------

ESCAPES = [(r'\\f\[[A-Z]*\]', ''), (r'\\f[BIRP]', ''), (r'\\-', '-'), (r'\\\((em|en)', '-'),
           (r'\\\((dq|lq|rq)', '"'), (r'\\\(bu', '*'), (r'\\&', ''), (r'\\e', r'\\'),
           (r'\\ ', ' ')]


def inline(s):
    for a, b in ESCAPES:
        s = re.sub(a, b, s)
    return s


def macro_args(rest):
    out, i = [], 0
    while i < len(rest):
        if rest[i] == ' ':
            i += 1
        elif rest[i] == '"':
            j, buf = i + 1, ''
            while j < len(rest):
                if rest[j] == '"':
                    if rest[j + 1:j + 2] == '"':
                        buf, j = buf + '"', j + 2
                        continue
                    break
                buf, j = buf + rest[j], j + 1
            out.append(buf)
            i = j + 1
        else:
            j = rest.find(' ', i)
            j = len(rest) if j < 0 else j
            out.append(rest[i:j])
            i = j
    return out


BREAKS = {'PP', 'P', 'LP', 'IP', 'RS', 'RE', 'EX', 'EE', 'nf', 'fi', 'br', 'sp', 'TH', 'TP',
          'TQ'}


def read_man(path):
    """[(kind, text, section, subsection)], kind: text, tag or break (.br,
    a paragraph: a sentence ends there)."""
    items, sh, ss, tag = [], '', '', False
    for ln in open(path, encoding='utf-8').read().split('\n'):
        if ln.startswith('.\\"'):
            continue
        if ln.startswith('.'):
            m = re.match(r'\.(\S+)\s*(.*)', ln)
            if not m:
                continue
            mac, rest = m.group(1), m.group(2)
            if mac in ('SH', 'SS'):
                title = inline(' '.join(macro_args(rest)))
                sh, ss = (title, '') if mac == 'SH' else (sh, title)
                items.append(('break', '', sh, ss))
                tag = False
                continue
            if mac in BREAKS:
                items.append(('break', '', sh, ss))
                tag = mac in ('TP', 'TQ')
                continue
            if mac in ('B', 'I', 'SM', 'SB'):
                text = ' '.join(macro_args(rest))
            elif mac in ('BR', 'RB', 'BI', 'IB', 'IR', 'RI'):
                text = ''.join(macro_args(rest))
            else:
                continue
        else:
            text = ln
        items.append(('tag' if tag else 'text', inline(text), sh, ss))
        tag = False
    return items


OPT = r'(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)'


def opts_in(text, ggfs):
    """The options named in a tag or usage line: -x, --long; for ggfs also
    -o NAME (NAME=VALUE)."""
    found = []
    if ggfs:
        found += ['-o ' + n for n in re.findall(r'(?<![\w-])-o ([a-z_]+)', text)]
        text = re.sub(r'(?<![\w-])-o [a-z_]+', ' ', text)
    return found + re.findall(OPT, text)


def man_options(items, scope, ggfs=False):
    """{option: subsection} of the OPTIONS section's tags (in subsection
    scope when given)."""
    out = {}
    for kind, text, sh, ss in items:
        if kind == 'tag' and sh == 'OPTIONS' and (scope is None or ss == scope):
            for o in opts_in(text, ggfs):
                out.setdefault(o, ss)
    return out


def synopsis(items, prefix):
    chunks, cur = [], None
    for kind, text, sh, ss in items:
        if sh != 'SYNOPSIS' or kind == 'break':
            cur = None
            continue
        if cur is None:
            cur = []
            chunks.append(cur)
        cur.append(text)
    lines = [' '.join(c) for c in chunks]
    return [s for s in lines if s == prefix or s.startswith(prefix + ' ')]


def paragraphs(items):
    """[[sentences]] of the page: a paragraph ends at a break (a .TP
    entry's tag starts one)."""
    paras, cur = [], []
    for kind, text, sh, ss in items + [('break', '', '', '')]:
        if kind == 'break':
            paras.append(re.split(r'(?<=[.!?])\s+(?=[A-Z(])', ' '.join(cur)))
            cur = []
        else:
            cur.append(text)
    return paras


# ---- --help -----------------------------------------------------------------

def lead_options(s, ggfs):
    """The options an option-list line starts with: "-j, --jobs N  thunks"."""
    out = []
    while True:
        s = s.lstrip(' ,|')
        m = re.match(r'-o ([a-z_]+)(=\S*)?', s) if ggfs else None
        if m:
            out.append('-o ' + m.group(1))
            s = s[m.end():]
            continue
        m = re.match(r'(--?[A-Za-z][A-Za-z0-9-]*)', s)
        if not m:
            return out
        out.append(m.group(1))
        s = s[m.end():]
        m = re.match(r'[ =][A-Z][^ ,]*', s)  # its value: N, FILE, ENGINE[=ARGS]
        if m:
            s = s[m.end():]


def help_blocks(text, ggfs=False):
    """[(forms of one option, its text, in the option list?)] of a help
    text: the options of its usage lines (their text: the line), then those
    of its option list (their text: their line and the deeper ones after
    it, their description)."""
    blocks, usage = [], False
    for ln in text.split('\n'):
        if ln.startswith('usage:') or (usage and ln[:1] == ' ' and ln.strip()):
            usage = True
            blocks += [([o], ln, False) for o in opts_in(ln, ggfs)]
            continue
        usage = False
        m = re.match(r' {1,8}(-.*)', ln)  # deeper: a description's continuation
        g = lead_options(m.group(1), ggfs) if m else []
        if g:
            blocks.append((g, ln, True))
        elif blocks and blocks[-1][2] and re.match(r' {9,}\S', ln):
            blocks[-1] = (blocks[-1][0], blocks[-1][1] + '\n' + ln, True)
    return blocks


def help_options(text, ggfs=False):
    """[[forms of one option]] of a help text."""
    return [g for g, block, listed in help_blocks(text, ggfs)]


ran = {}


def run(argv):
    """(exit status, stdout, stderr) of argv, in the empty directory."""
    if tuple(argv) in ran:
        return ran[tuple(argv)]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('GG_') and not k.startswith('AWS_')}
    env.update(HOME=tmp + '/home', XDG_CONFIG_HOME=tmp + '/home/.config')
    try:
        p = subprocess.run(argv, cwd=tmp + '/probe', env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return 124, '', 'timed out'
    return p.returncode, p.stdout, p.stderr


DEFAULT = re.compile(r'\bdefault:?\s+(?:\$[A-Z_]+,?\s+else\s+)?([0-9][0-9.]*[A-Za-z]*)')


def check_defaults(name, help_text, items, man, ggfs=False):
    """An option's default in a sentence of a paragraph that names the
    option (its entry in OPTIONS, or another: LIMITS of gg-force(1)); one
    in the help's prose, in any sentence of the page."""
    paras = [(set(opts_in(' '.join(p), ggfs)), [s for s in p if re.search('default', s, re.I)])
             for p in paragraphs(items)]
    prose = help_text
    for forms, block, listed in help_blocks(help_text, ggfs):
        if listed:
            prose = prose.replace(block, '')
            for n in sorted(set(DEFAULT.findall(block))):
                word = re.compile(r'(?<![\w.])' + re.escape(n) + r'(?!\w)')
                check('%s: %s has the default %s (--help) in a sentence saying default of a '
                      'paragraph of %s that names it' % (name, '|'.join(forms), n, man),
                      any(set(forms) & named and any(word.search(s) for s in says)
                          for named, says in paras))
    says = [s for named, p in paras for s in p]
    for n in sorted(set(DEFAULT.findall(prose))):
        word = re.compile(r'(?<![\w.])' + re.escape(n) + r'(?!\w)')
        check('%s: the default %s that --help gives is in a sentence of %s that says default'
              % (name, n, man), any(word.search(s) for s in says))


# ---- code -------------------------------------------------------------------

def sources():
    for d in ('tools', 'tools/cli', 'tools/infer'):
        for f in sorted(os.listdir(os.path.join(src, d))):
            if f.endswith('.c'):
                yield os.path.join(d, f)


def function(fn):
    """(file, whole text, body) of `int FN(int argc, char **argv)`."""
    for f in sources():
        t = open(os.path.join(src, f), encoding='utf-8').read()
        m = re.search(r'^int ' + fn + r'\(int argc, char \*\*argv\)\n\{\n(.*?)^\}', t, re.S | re.M)
        if m:
            return f, t, m.group(1)
    return None, '', ''


def code_options(body):
    """(options the function's own parsing accepts, how it parses)."""
    table = re.findall(r'\{"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument,\s*'
                       r'([^,]+),\s*([^}]+)\}', body)
    got = {'--' + n for n, flag, val in table}
    m = re.search(r'getopt_long\(argc, argv, "([^"]*)"', body)
    if m:
        return got | {'-' + c for c in m.group(1) if c.isalpha()}, 'getopt_long'
    if re.search(r'\bread_(options|flags)\(', body):
        # read_options gives a short option to each value that is a letter
        return got | HELP | {'-' + v.strip()[1] for n, flag, v in table
                             if flag.strip() in ('0', 'NULL') and
                             re.fullmatch(r"'[A-Za-z]'", v.strip())}, 'read_options'
    got = set(re.findall(r'"(--?[A-Za-z][a-z0-9-]*)"', body))
    if re.search(r'\bwants_help\(', body):
        return got | HELP, 'wants_help'
    return got, 'literals'


def unknown(err, o):
    """Whether err says that o is no option of the command."""
    said = ["unrecognized option '%s'", "option '%s' is ambiguous", "unknown command '%s'",
            "unexpected argument '%s'"]
    return any(u % o in err for u in said) or (
        not o.startswith('--') and "invalid option -- '%s'" % o[1:] in err)


def probe(argv, o):
    return run(argv + [o, '--zz-probe-a', '--zz-probe-b'])


def run_all(argvs):
    """Runs them at once, for run to answer from: under ASan each start
    takes a while, mostly waiting."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        for argv, res in zip(argvs, pool.map(run, argvs)):
            ran[tuple(argv)] = res


def check_command(name, argv, man, scope, prefix, fn):
    items = read_man(os.path.join(src, 'man', man))
    rc, help_text, err = run(argv + ['--help'])
    check('%s: --help exits 0 and prints its usage' % name,
          rc == 0 and help_text.startswith('usage: ' + prefix), err.strip())
    groups = [g for g in help_options(help_text) if not set(g) & HELP]
    listed = {o for g in groups for o in g}
    documented = man_options(items, scope)
    syn = synopsis(items, prefix)
    generic = any('[OPTIONS]' in s for s in syn)
    in_syn = set(o for s in syn for o in opts_in(s, False))
    where = man + (' (%s)' % scope if scope else '')
    check('%s: %s has a SYNOPSIS line for it' % (name, man), bool(syn))
    for g in groups:
        for o in g:
            check('%s: %s, which --help lists, is a tag of OPTIONS in %s' % (name, o, where),
                  o in documented)
        check('%s: %s, which --help lists, is in the SYNOPSIS of %s' % (name, '|'.join(g), man),
              generic or bool(set(g) & in_syn), 'SYNOPSIS: ' + ' / '.join(syn))
    f, text, body = function(fn)
    check('%s: its function %s and usage text are in one file' % (name, fn),
          f is not None and ('"usage: ' + prefix) in text, f or 'no such function')
    accepted, how = code_options(body)
    for o in sorted(documented):
        if o not in HELP:
            check('%s: %s, documented in %s, is listed by --help' % (name, o, where), o in listed)
        check('%s: %s, documented in %s, is spelled in full in %s (%s)' % (name, o, where, fn, how),
              o in accepted, 'it has: ' + ' '.join(sorted(accepted)))
    for o in sorted(accepted - HELP):
        check('%s: %s, which %s accepts, is listed by --help' % (name, o, fn), o in listed)
    if how != 'literals' or name == 'gg':
        rc, out, err = probe(argv, '--zz-no-such-option')  # (its second word is unused)
        check('%s: the probe\'s control: an unknown option is a usage error naming it' % name,
              rc == 2 and unknown(err, '--zz-no-such-option'), 'exit %d: %s' % (rc, err.strip()))
        for o in sorted(documented):
            rc, out, err = probe(argv, o)
            check('%s: %s, documented in %s, is accepted' % (name, o, where),
                  rc != 124 and not unknown(err, o), 'exit %d: %s' % (rc, err.strip()[:300]))
    else:  # its arguments are all its operands' (gg run)
        for o in sorted(documented):
            rc, out, err = probe(argv, o)
            check('%s: %s, documented in %s, is accepted (prints the help)' % (name, o, where),
                  o in HELP and rc == 0 and out == help_text, 'exit %d: %s' % (rc, err.strip()))
    check_defaults(name, help_text, items, man)


commands = [('gg', ['gg'], 'gg.1', None, 'gg', 'main')]
for c in cmds:
    storage = c in ('push', 'pull', 'remote-has', 'remote-migrate')
    commands.append(('gg ' + c, ['gg', c], 'gg-storage.7' if storage else 'gg-%s.1' % c,
                     'gg ' + c if storage else None, 'gg ' + c, 'cmd_' + c.replace('-', '_')))
runs = [['ggfs', '--help']]
for name, argv, man, scope, prefix, fn in commands:
    runs += [argv + ['--help'], argv + ['--zz-no-such-option', '--zz-probe-a', '--zz-probe-b']]
    runs += [argv + [o, '--zz-probe-a', '--zz-probe-b']
             for o in man_options(read_man(os.path.join(src, 'man', man)), scope)]
run_all(runs)
for cmd in commands:
    check_command(*cmd)

# ---- ggfs -------------------------------------------------------------------

items = read_man(os.path.join(src, 'man', 'ggfs.1'))
rc, help_text, err = run(['ggfs', '--help'])
check('ggfs: --help exits 0 and prints its usage', rc == 0 and help_text.startswith('usage: ggfs'),
      err.strip())
own, sep, fuse = help_text.partition('\nFUSE options (libfuse')
check("ggfs: --help has its own options, then libfuse's", bool(sep))
h_own = {o for g in help_options(own, True) for o in g}
h_fuse = {o for g in help_options(fuse, True) for o in g}
documented = man_options(items, None, True)
m_own = {o for o, ss in documented.items() if ss == 'ggfs options'}
m_fuse = {o for o, ss in documented.items() if ss == 'FUSE options'}
check('ggfs: ggfs(1) has the subsections ggfs options and FUSE options of OPTIONS',
      bool(m_own) and bool(m_fuse) and set(documented) == m_own | m_fuse)
syn = synopsis(items, 'ggfs')
check('ggfs: the SYNOPSIS of ggfs(1) says [OPTIONS]', any('[OPTIONS]' in s for s in syn),
      ' / '.join(syn))
code = open(os.path.join(src, 'fs', 'cmdline.c'), encoding='utf-8').read()
m = re.search(r'static const struct fuse_opt ggfs_opts\[\] = \{(.*?)\n\};', code, re.S)
check('ggfs: fs/cmdline.c has the table ggfs_opts', bool(m))
table = set()
for n in re.findall(r'(?:GG_OPT|FUSE_OPT_KEY)\("([^"=]+)', m.group(1) if m else ''):
    table.add(n if n.startswith('-') else '-o ' + n)
check('ggfs: ggfs_opts has options', len(table) > 10, ' '.join(sorted(table)))
for o in sorted(h_own | h_fuse):
    check('ggfs: %s, which --help lists, is a tag of OPTIONS in ggfs(1)' % o, o in documented)
for o in sorted(documented):
    check('ggfs: %s, documented in ggfs(1), is listed by --help' % o, o in h_own | h_fuse)
for o in sorted(m_own):
    check('ggfs: %s, documented as a ggfs option, is spelled in full in ggfs_opts' % o,
          o in table)
for o in sorted(m_fuse - table):
    check("ggfs: %s, documented as a FUSE option, is in libfuse's part of --help" % o,
          o in h_fuse)
for o in sorted(h_own):
    check('ggfs: %s, which --help lists as a ggfs option, is in ggfs_opts' % o, o in table)
for o in sorted(table):
    check('ggfs: %s, which ggfs_opts has, is listed by --help as a ggfs option' % o, o in h_own)
    check('ggfs: %s, which ggfs_opts has, is documented as a ggfs option in ggfs(1)' % o,
          o in m_own)
# libfuse's text gives libfuse's defaults, which ggfs's own replace
check_defaults('ggfs', own, items, 'ggfs.1', True)
print('done')
