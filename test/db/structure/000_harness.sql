-- The harness itself: pgTAP is loaded and the migrated schema is present.
BEGIN;
select plan(2);
select has_function('tap', 'plan', array['integer'], 'pgTAP is loaded into schema tap');
select has_schema('app', 'schema app exists');
select * from finish();
ROLLBACK;
