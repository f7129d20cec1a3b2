// wirestep speaks Portuguese under a pt_* locale: the tests, and every command they start, run
// under a neutral one, so that their English lines hold on a Brazilian machine too. A test of the
// Portuguese lines sets its own locale on the command it starts.
process.env.LANG = 'C.UTF-8';
delete process.env.LC_ALL;
delete process.env.LC_MESSAGES;
