/* SPDX-License-Identifier: BSD-2-Clause */
/* `stoker unwind-table`: prints the unwind table stoker derives from a file. */
#ifndef STOKER_UNWIND_TABLE_CMD_H
#define STOKER_UNWIND_TABLE_CMD_H

int unwind_table_cmd(int argc, char **argv);

#endif
