WITH `q1_sequence` AS (
  SELECT DISTINCT
    `first_step`.`__key`
  FROM (
    SELECT
      `events`.`customer_id` AS `__key`,
      CAST(FROM_UTC_TIMESTAMP(`events`.`occurred_at`, 'UTC') AS TIMESTAMP_NTZ) AS `at`
    FROM `events` AS `events`
    WHERE
      `events`.`occurred_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
      AND `events`.`name` = 'add_to_cart'
      AND `events`.`occurred_at` > CAST('2025-06-01 00:00:00+00:00' AS TIMESTAMP)
  ) AS `first_step`
  WHERE
    `first_step`.`at` <= CAST('2025-06-28 00:00:00' AS TIMESTAMP_NTZ)
    AND NOT EXISTS(
      SELECT
        1
      FROM (
        SELECT
          `events`.`customer_id` AS `__key`,
          CAST(FROM_UTC_TIMESTAMP(`events`.`occurred_at`, 'UTC') AS TIMESTAMP_NTZ) AS `at`
        FROM `events` AS `events`
        WHERE
          `events`.`occurred_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
          AND `events`.`occurred_at` > CAST('2025-06-01 00:00:00+00:00' AS TIMESTAMP)
          AND `events`.`name` = 'purchase'
      ) AS `then_step`
      WHERE
        `then_step`.`__key` = `first_step`.`__key`
        AND `then_step`.`at` > `first_step`.`at`
        AND `then_step`.`at` <= `first_step`.`at` + INTERVAL '3' DAY
    )
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    NOT `q1_sequence`.`__key` IS NULL AS `q1`
  FROM `customers` AS `customer`
  INNER JOIN `q1_sequence`
    ON `q1_sequence`.`__key` = `customer`.`id`
  WHERE
    NOT `customer`.`id` IS NULL
    AND (
      `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
      OR `customer`.`signed_up_at` IS NULL
    )
)
SELECT DISTINCT
  `__key` AS `id`
FROM `population`
WHERE
  `q1`
