-- Cell conversion: sync.cell_problem() names, in words that quote the value,
-- why an Airtable cell cannot become its column (null when it can, and for
-- an empty cell: SQL null or JSON null); the sync.cell_*() converters return
-- the converted value, or null (never an error) for a cell they cannot
-- convert. All of them are immutable plain SQL, so the merge can inline them,
-- and none may raise on any input: one bad cell must not abort a merge.
BEGIN;
select plan(103);

-- ---------------------------------------------------------------------------
-- text and select
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('"Acme Corp"', 'text'), null, 'text: a string is convertible');
select is(sync.cell_problem(null, 'text'), null, 'text: an absent cell (SQL null) is no problem');
select is(sync.cell_problem('null', 'text'), null, 'text: a JSON null cell is no problem');
select is(sync.cell_problem('42', 'text'), 'expected text, got 42', 'text: a number is rejected, naming the value');
select is(sync.cell_problem('{"error":"#ERROR!"}', 'text'), 'expected text, got {"error": "#ERROR!"}', 'text: a formula error object is rejected, naming the value');
select is(sync.cell_problem('"Active"', 'select'), null, 'select: an option name is convertible');
select is(sync.cell_problem('7', 'select'), 'expected text, got 7', 'select: a number is rejected, naming the value');
select is(sync.cell_problem('{"error":"#ERROR!"}', 'select'), 'expected text, got {"error": "#ERROR!"}', 'select: an error object is rejected, naming the value');
select is(sync.cell_text('"  Acme  Corp 🚀 "'), '  Acme  Corp 🚀 ', 'cell_text keeps the text exactly as entered (spaces and emoji)');
select is(sync.cell_text('"line one\nline two"'), E'line one\nline two', 'cell_text decodes JSON escapes (newline)');
select is(sync.cell_text('42'), null, 'cell_text of a number is null');
select is(sync.cell_text('{"error":"#ERROR!"}'), null, 'cell_text of an error object is null');
select is(sync.cell_text(null), null, 'cell_text of an absent cell is null');

-- ---------------------------------------------------------------------------
-- date
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('"2024-02-29"', 'date'), null, 'date: 2024-02-29 (leap year) is valid');
select is(sync.cell_date('"2024-02-29"'), '2024-02-29'::date, 'cell_date converts 2024-02-29');
select is(sync.cell_problem(null, 'date'), null, 'date: an absent cell is no problem');
select is(sync.cell_problem('null', 'date'), null, 'date: a JSON null cell is no problem');
select is(sync.cell_problem('"2026-02-29"', 'date'), 'not a valid date: "2026-02-29"', 'date: 2026-02-29 is rejected (2026 is not a leap year)');
select is(sync.cell_problem('"1900-02-29"', 'date'), 'not a valid date: "1900-02-29"', 'date: 1900-02-29 is rejected (century not divisible by 400)');
select is(sync.cell_problem('"2026-13-01"', 'date'), 'not a valid date: "2026-13-01"', 'date: month 13 is rejected');
select is(sync.cell_problem('"2026-04-31"', 'date'), 'not a valid date: "2026-04-31"', 'date: April 31 is rejected');
select is(sync.cell_problem('"0000-01-01"', 'date'), 'not a valid date: "0000-01-01"', 'date: year 0000 is rejected');
select is(sync.cell_problem('"2026-4-1"', 'date'), 'not a valid date: "2026-4-1"', 'date: a date not in YYYY-MM-DD form is rejected');
select is(sync.cell_problem('20260101', 'date'), 'expected a date, got 20260101', 'date: a number is rejected');
select is(sync.cell_date('"2026-02-29"'), null, 'cell_date of 2026-02-29 is null, not an error');
select is(sync.cell_date('"2026-13-01"'), null, 'cell_date of month 13 is null');
select is(sync.cell_date('20260101'), null, 'cell_date of a number is null');

-- ---------------------------------------------------------------------------
-- timestamp
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('"2026-11-20T10:00:00.000Z"', 'timestamp'), null, 'timestamp: Airtable''s UTC form is valid');
select is(sync.cell_timestamp('"2026-11-20T10:00:00.000Z"'), '2026-11-20 10:00:00+00'::timestamptz, 'cell_timestamp converts the UTC form');
select is(sync.cell_problem('"2026-11-20T12:00:00+02:00"', 'timestamp'), null, 'timestamp: an explicit +02:00 offset is valid');
select is(sync.cell_timestamp('"2026-11-20T12:00:00+02:00"'), '2026-11-20 10:00:00+00'::timestamptz, 'cell_timestamp honours the +02:00 offset');
select is(sync.cell_problem('null', 'timestamp'), null, 'timestamp: a JSON null cell is no problem');
select is(sync.cell_problem('"2026-11-20T10:00:00"', 'timestamp'), 'not a valid timestamp: "2026-11-20T10:00:00"', 'timestamp: no time zone is rejected');
select is(sync.cell_problem('"2026-11-20 10:00"', 'timestamp'), 'not a valid timestamp: "2026-11-20 10:00"', 'timestamp: a space instead of T (and no zone) is rejected');
select is(sync.cell_problem('"2026-02-29T10:00:00Z"', 'timestamp'), 'not a valid timestamp: "2026-02-29T10:00:00Z"', 'timestamp: an impossible date part is rejected');
select is(sync.cell_problem('1763632800', 'timestamp'), 'expected a timestamp, got 1763632800', 'timestamp: a number (epoch seconds) is rejected');
select is(sync.cell_problem('"2026-11-20T10:00:00+99:00"', 'timestamp'), 'not a valid timestamp: "2026-11-20T10:00:00+99:00"', 'timestamp: an offset of +99:00 (no such zone) is rejected');
select is(sync.cell_timestamp('"2026-11-20T10:00:00"'), null, 'cell_timestamp of a zone-less value is null');
select is(sync.cell_timestamp('"2026-11-20 10:00"'), null, 'cell_timestamp of a space-separated value is null');
select is(sync.cell_timestamp('1763632800'), null, 'cell_timestamp of a number is null');

-- ---------------------------------------------------------------------------
-- money
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('1234.567', 'money'), null, 'money: 1234.567 is valid');
select is(sync.cell_money('1234.567'), 1234.57::numeric(12,2), 'cell_money rounds 1234.567 to 1234.57');
select is(sync.cell_problem('-5', 'money'), null, 'money: -5 is valid');
select is(sync.cell_money('-5'), -5.00::numeric(12,2), 'cell_money keeps -5');
select is(sync.cell_problem('9999999999.99', 'money'), null, 'money: 9,999,999,999.99 (the largest numeric(12,2)) is valid');
select is(sync.cell_problem('12345678901.5', 'money'), '12345678901.5 is too large for money (at most 9,999,999,999.99)', 'money: 12345678901.5 is too large');
select is(sync.cell_problem('9999999999.995', 'money'), '9999999999.995 is too large for money (at most 9,999,999,999.99)', 'money: a value that rounds up to 10,000,000,000.00 is too large');
select is(sync.cell_problem('{"specialValue":"NaN"}', 'money'), 'expected a number, got {"specialValue": "NaN"}', 'money: Airtable''s NaN special value is the wrong type');
select is(sync.cell_problem('"12.50"', 'money'), 'expected a number, got "12.50"', 'money: a number written as text is the wrong type');
select is(sync.cell_money('12345678901.5'), null, 'cell_money of a too-large value is null');
select is(sync.cell_money('{"specialValue":"NaN"}'), null, 'cell_money of a special value is null');
select is(sync.cell_money(null), null, 'cell_money of an absent cell is null');

-- ---------------------------------------------------------------------------
-- integer (the column's own range, e.g. 1..12, is checked by the merge)
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('13', 'integer'), null, 'integer: 13 is convertible (a column range is the merge''s concern)');
select is(sync.cell_integer('13'), 13::smallint, 'cell_integer converts 13');
select is(sync.cell_problem('1.5', 'integer'), 'expected a whole number, got 1.5', 'integer: 1.5 is rejected');
select is(sync.cell_problem('40000', 'integer'), '40000 is out of range for a small integer', 'integer: 40000 is out of range');
select is(sync.cell_problem('"3"', 'integer'), 'expected a whole number, got "3"', 'integer: a number written as text is rejected');
select is(sync.cell_integer('1.5'), null, 'cell_integer of 1.5 is null');
select is(sync.cell_integer('40000'), null, 'cell_integer of 40000 is null');
select lives_ok($$select sync.cell_integer('13.0')$$, 'cell_integer does not raise on 13.0 (a whole number written with a decimal point)');

-- ---------------------------------------------------------------------------
-- checkbox (Airtable leaves unchecked boxes out)
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('true', 'checkbox'), null, 'checkbox: true is valid');
select is(sync.cell_checkbox('true'), true, 'cell_checkbox of true is true');
select is(sync.cell_problem('"yes"', 'checkbox'), 'expected a checkbox (true), got "yes"', 'checkbox: "yes" is rejected');
select is(sync.cell_checkbox(null), false, 'cell_checkbox of an absent cell is false');
select is(sync.cell_checkbox('"yes"'), false, 'cell_checkbox of "yes" is false, not an error');

-- ---------------------------------------------------------------------------
-- multi_select
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('["a","b"]', 'multi_select'), null, 'multi_select: a list of option names is valid');
select is(sync.cell_text_array('["urgent","Q3","audit"]'), array['urgent', 'Q3', 'audit'], 'cell_text_array keeps Airtable''s order');
select is(sync.cell_problem('[1]', 'multi_select'), 'expected a list of option names, got [1]', 'multi_select: a list of numbers is rejected');
select is(sync.cell_problem('"a"', 'multi_select'), 'expected a list of options, got "a"', 'multi_select: a single string is rejected');
select is(sync.cell_text_array(null), '{}'::text[], 'cell_text_array of an absent cell is an empty array');
select is(sync.cell_text_array('[1]'), '{}'::text[], 'cell_text_array of a list of numbers is empty, not an error');
select is(sync.cell_text_array('"a"'), '{}'::text[], 'cell_text_array of a single string is empty');

-- ---------------------------------------------------------------------------
-- lookup_text
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('["CA"]', 'lookup_text'), null, 'lookup_text: a list of values is valid');
select is(sync.cell_lookup_text('["CA"]'), 'CA', 'cell_lookup_text of ["CA"] is CA');
select is(sync.cell_lookup_text('"CA"'), 'CA', 'cell_lookup_text of "CA" is CA');
select is(sync.cell_problem('[{"x":1}]', 'lookup_text'), 'expected text lookup values, got [{"x": 1}]', 'lookup_text: a list of objects is rejected');
select is(sync.cell_problem('5', 'lookup_text'), 'expected a lookup value, got 5', 'lookup_text: a bare number is rejected');
select is(sync.cell_lookup_text('[{"x":1}]'), null, 'cell_lookup_text of a list of objects is null');

-- ---------------------------------------------------------------------------
-- collaborator
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('{"id":"usrAbCdEfGh123456","email":"ann@example.com","name":"Ann"}', 'collaborator'), null, 'collaborator: {id, email, name} is valid');
select is(sync.cell_problem('{"email":"x"}', 'collaborator'), 'expected a collaborator {id, email, name}, got {"email": "x"}', 'collaborator: an object without id is rejected');
select is(sync.cell_problem('{"id":"usrSHORT"}', 'collaborator'), 'expected a collaborator {id, email, name}, got {"id": "usrSHORT"}', 'collaborator: a malformed user id is rejected');

-- ---------------------------------------------------------------------------
-- link
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('["recAAAAAAAAAAAAAA"]', 'link'), null, 'link: a list of record ids is valid');
select is(sync.cell_first_link('["recAAAAAAAAAAAAAA","recBBBBBBBBBBBBBB"]'), 'recAAAAAAAAAAAAAA', 'cell_first_link returns the first record id');
select is(sync.cell_problem('[""]', 'link'), 'expected linked record keys (non-empty text), got [""]', 'link: a list holding an empty key is rejected');
select is(sync.cell_problem('"recAAAAAAAAAAAAAA"', 'link'), 'expected a list of linked record keys, got "recAAAAAAAAAAAAAA"', 'link: a bare id (not a list) is rejected');
select is(sync.cell_problem('["0x5258365fb17281e9cc6344ecaca41ff826737010", "42"]', 'link'), null, 'link: any source''s keys are valid (a wallet address, a legacy integer id as text): one that names no record is a dangling link for the merge');
select is(sync.cell_problem('[42]', 'link'), 'expected linked record keys (non-empty text), got [42]', 'link: a key that is not text is rejected');
select is(sync.cell_first_link('["nope"]'), 'nope', 'cell_first_link of ["nope"] is nope: any source''s key (the merge finds it names no record)');
select is(sync.cell_first_link('[""]'), null, 'cell_first_link of [""] is null: an empty key is not one');
select is(sync.cell_first_link('[]'), null, 'cell_first_link of an empty list is null');

-- ---------------------------------------------------------------------------
-- attachments
-- ---------------------------------------------------------------------------
select is(sync.cell_problem('[{"id":"attAAAAAAAAAAAAAA","filename":"label.pdf","size":1024,"type":"application/pdf","url":"https://dl.example/a"},{"id":"attBBBBBBBBBBBBBB","filename":"sds.pdf"}]', 'attachments'),
          null, 'attachments: a list of files is valid (size optional)');
select is(sync.cell_problem('[{"id":"attAAAAAAAAAAAAAA","size":1024,"type":"application/pdf","url":"https://x/a"}]', 'attachments'),
          'expected attachments {id, filename, size, type}, got [{"id": "attAAAAAAAAAAAAAA", "url": "https://x/a", "size": 1024, "type": "application/pdf"}]',
          'attachments: a file without filename is rejected');
select is(sync.cell_problem('[{"id":"attAAAAAAAAAAAAAA","filename":"label.pdf","size":-1}]', 'attachments'),
          'expected attachments {id, filename, size, type}, got [{"id": "attAAAAAAAAAAAAAA", "size": -1, "filename": "label.pdf"}]',
          'attachments: a negative size is rejected');
select is(sync.cell_problem('[{"id":"attSHORT","filename":"label.pdf","size":1}]', 'attachments'),
          'expected attachments {id, filename, size, type}, got [{"id": "attSHORT", "size": 1, "filename": "label.pdf"}]',
          'attachments: a malformed attachment id is rejected');
select isnt(sync.cell_problem('[{"id":"attAAAAAAAAAAAAAA","filename":"label.pdf","size":1.5}]', 'attachments'), null,
            'attachments: a fractional size is rejected (the merge stores sizes as bigint)');

-- an unknown conversion is a problem in itself
select is(sync.cell_problem('"x"', 'currency'), 'unknown conversion currency', 'an unknown conversion is reported as such');

-- ---------------------------------------------------------------------------
-- Immutable plain SQL, without SET clauses (so the planner inlines them)
-- ---------------------------------------------------------------------------
select is(
  (select count(*)::int from pg_proc
   where pronamespace = 'sync'::regnamespace
     and proname in ('is_iso_date', 'is_iso_timestamp', 'cell_problem', 'cell_text', 'cell_date', 'cell_timestamp', 'cell_money',
                     'cell_integer', 'cell_checkbox', 'cell_text_array', 'cell_lookup_text', 'cell_first_link')),
  12, 'the twelve cell functions exist');
select is_empty(
  $$select proname from pg_proc
    where pronamespace = 'sync'::regnamespace
      and proname in ('is_iso_date', 'is_iso_timestamp', 'cell_problem', 'cell_text', 'cell_date', 'cell_timestamp', 'cell_money',
                      'cell_integer', 'cell_checkbox', 'cell_text_array', 'cell_lookup_text', 'cell_first_link')
      and provolatile <> 's'$$,
  'every cell function is stable (provolatile = s): an IMMUTABLE function calling stable format() or date casts would not be inlined');
select is_empty(
  $$select proname from pg_proc
    where pronamespace = 'sync'::regnamespace
      and proname in ('is_iso_date', 'is_iso_timestamp', 'cell_problem', 'cell_text', 'cell_date', 'cell_timestamp', 'cell_money',
                      'cell_integer', 'cell_checkbox', 'cell_text_array', 'cell_lookup_text', 'cell_first_link')
      and (prolang <> (select oid from pg_language where lanname = 'sql') or proconfig is not null or prosecdef)$$,
  'every cell function is plain SQL, without SET clauses or security definer');

-- ---------------------------------------------------------------------------
-- Never raise: every function over every conversion and a table of nasty
-- cells. The result is consumed (sum of lengths) so nothing is optimised away.
-- Inputs that currently raise are also tested one by one below, so that a
-- failure names the input.
-- ---------------------------------------------------------------------------
create temp table nasty_cells (cell jsonb);
insert into nasty_cells values
  (null), ('null'), ('true'), ('false'), ('0'), ('-1'), ('1.5'), ('-0.5'), ('1e1000'), ('-1e1000'), ('1e-1000'),
  ('32768'), ('-32769'), ('13.5'), ('""'), ('"   "'), (E'"\\t"'), ('"🚀"'), ('"\u00e9"'),
  ('"2026-02-30"'), ('"0000-00-00"'), ('"9999-12-31"'), ('"2026-11-20T25:00:00Z"'), ('"2026-11-20T10:60:00Z"'),
  ('"2026-11-20T10:00:00.1234567890Z"'), ('"2026-11-20T10:00:00.123456789Z"'), ('"2026-11-20T10:00Z"'),
  ('"20261120T100000Z"'), ('"tomorrow"'), ('"infinity"'), ('"NaN"'),
  ('[]'), ('{}'), ('[null]'), ('[[]]'), ('[[1]]'), ('[{}]'), ('[true]'), ('["a", 1]'),
  ('{"id": 5}'), ('{"id": null}'), ('{"id": ["usrAAAAAAAAAAAAAA"]}'), ('{"id": "usrAAAAAAAAAAAAAA"}'),
  ('["recAAAAAAAAAAAAAA", 5]'), ('["recAAAAAAAAAAAAAA"]'), ('"recAAAAAAAAAAAAAA"'),
  ('[{"id": "attAAAAAAAAAAAAAA", "filename": "a", "size": "big"}]'), ('[{"id": "attAAAAAAAAAAAAAA", "filename": "a", "size": null}]'),
  ('[{"id": "attAAAAAAAAAAAAAA", "filename": "a", "size": -1}]'), ('[{"id": "attAAAAAAAAAAAAAA", "filename": "  "}]'),
  ('["size"]'), ('[{"size": 1}]'),
  ('{"error": "#ERROR!"}'), ('{"specialValue": "NaN"}'), ('{"specialValue": "Infinity"}'),
  ('{"a": {"b": {"c": [1, [2, [3]]]}}}');
create temp table conversions (conversion text);
insert into conversions values
  ('text'), ('select'), ('multi_select'), ('date'), ('timestamp'), ('money'), ('integer'), ('checkbox'),
  ('collaborator'), ('link'), ('lookup_text'), ('attachments'), ('no-such-conversion'), (null);
select lives_ok(
  $$select sum(length(concat(
      sync.cell_problem(n.cell, c.conversion), sync.is_iso_date(n.cell #>> '{}'), sync.is_iso_timestamp(n.cell #>> '{}'),
      sync.cell_text(n.cell), sync.cell_date(n.cell), sync.cell_timestamp(n.cell), sync.cell_money(n.cell),
      sync.cell_integer(n.cell), sync.cell_checkbox(n.cell), sync.cell_text_array(n.cell),
      sync.cell_lookup_text(n.cell), sync.cell_first_link(n.cell))))
    from nasty_cells n cross join conversions c$$,
  'no cell function raises on any of the nasty cells, whatever the conversion');
select lives_ok($$select sync.cell_timestamp('"2026-11-20T10:00:00+99:00"')$$, 'cell_timestamp does not raise on an offset of +99:00');
select lives_ok($$select sync.cell_timestamp('"2026-11-20T10:00:00+02:99"')$$, 'cell_timestamp does not raise on an offset with 99 minutes');
select lives_ok($$select sync.cell_integer('-0.0')$$, 'cell_integer does not raise on -0.0');

select * from finish();
ROLLBACK;
