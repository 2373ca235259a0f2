/*
 * Large listings staged with COPY: the runner streams a chunk of records
 * into a temporary table (sync.open_copied_records) and sync.stage_copied
 * stages the whole chunk in one call, as sync.stage_page does a page.
 */
--!include staging/stage_copied.sql
--!include grants/_all.sql
